# Account name: Leverage requires it to equal this folder's name
environment = "data-science"

# SSO role used in this account
sso_role = "DevOps"
