# AWS profile (backend and provider)
profile = "bb-apps-devstg-devops"

# S3 bucket of the account's state
bucket = "bb-apps-devstg-terraform-backend"

# Region of the state backend
region = "us-east-1"

# Encrypt the state at rest
encrypt = true

# State lock table
dynamodb_table = "bb-apps-devstg-terraform-backend"
