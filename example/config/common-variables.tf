# Variables every layer receives from config/common.tfvars, <account>/config/account.tfvars and
# <account>/config/backend.tfvars (the Leverage CLI passes them all as -var-file).

# Backend (backend.tfvars)
variable "region" {
  type        = string
  description = "AWS region of the layer and of the state backend"
}

variable "profile" {
  type        = string
  description = "AWS profile of the account (backend and provider)"
}

variable "bucket" {
  type        = string
  description = "S3 bucket holding the account's Terraform state"
}

variable "dynamodb_table" {
  type        = string
  description = "DynamoDB table locking the account's Terraform state"
}

variable "encrypt" {
  type        = bool
  description = "Encrypt the state at rest"
}

# Project (common.tfvars)
variable "project" {
  type        = string
  description = "Project short name"
}

variable "project_long" {
  type        = string
  description = "Project long name"
}

variable "region_primary" {
  type        = string
  description = "Primary AWS region"
}

variable "region_secondary" {
  type        = string
  description = "Secondary AWS region (disaster recovery)"
}

variable "accounts" {
  type        = map(any)
  description = "The organization's accounts: name => { email, id }"
}

# Account (account.tfvars)
variable "environment" {
  type        = string
  description = "Account name"
}

# AWS SSO
variable "sso_enabled" {
  type        = bool
  description = "Whether Leverage authenticates with AWS SSO"
}

variable "sso_region" {
  type        = string
  description = "AWS SSO region"
}

variable "sso_start_url" {
  type        = string
  description = "AWS SSO start URL"
}

variable "sso_role" {
  type        = string
  description = "SSO role of the account"
}

locals {
  # The layer's path below its region folder, e.g. "datalake" (used for tags).
  regions    = [var.region_primary, var.region_secondary, "global"]
  layer_name = basename(path.cwd)
}
