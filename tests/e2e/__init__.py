"""End-to-end: generated layers applied for real with Terraform and the hashicorp/aws provider against moto."""
