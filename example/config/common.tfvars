# Short and long project names
project      = "bb"
project_long = "binbash"

# Regions
region_primary   = "us-east-1"
region_secondary = "us-east-2"

# The organization's accounts
accounts = {
  management = {
    email = "aws+management@example.com"
    id    = "111111111111"
  }
  security = {
    email = "aws+security@example.com"
    id    = "222222222222"
  }
  shared = {
    email = "aws+shared@example.com"
    id    = "333333333333"
  }
  apps-devstg = {
    email = "aws+apps-devstg@example.com"
    id    = "555555555555"
  }
  data-science = {
    email = "aws+data-science@example.com"
    id    = "777777777777"
  }
}

# AWS SSO
sso_enabled   = true
sso_start_url = "https://example.awsapps.com/start"
sso_region    = "us-east-1"
