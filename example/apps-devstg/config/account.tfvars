# Account name: Leverage requires it to equal this folder's name
environment = "apps-devstg"

# SSO role used in this account
sso_role = "DevOps"
