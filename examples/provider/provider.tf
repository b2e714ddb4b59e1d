terraform {
  required_providers {
    workspace = {
      source = "tfws/workspace"
    }
  }
}

# AK/SK signing. Every argument may be left out and given by its environment variable instead
# (HW_REGION_NAME, HW_PROJECT_ID, HW_ACCESS_KEY, HW_SECRET_KEY, ...); a value written here wins.
provider "workspace" {
  region     = "cn-north-4"
  project_id = var.project_id
  access_key = var.access_key
  secret_key = var.secret_key
}

variable "project_id" {
  type = string
}

variable "access_key" {
  type      = string
  sensitive = true
}

variable "secret_key" {
  type      = string
  sensitive = true
}

# Other ways to authenticate (use exactly one):
#
# Temporary credentials (AK/SK plus a security token from IAM):
#   provider "workspace" {
#     region         = "cn-north-4"
#     project_id     = var.project_id
#     access_key     = var.temporary_access_key
#     secret_key     = var.temporary_secret_key
#     security_token = var.security_token
#   }
#
# An IAM token (X-Auth-Token):
#   provider "workspace" {
#     region     = "ap-southeast-1"
#     project_id = var.project_id
#     token      = var.iam_token
#   }
#
# A private endpoint or another base URL:
#   provider "workspace" {
#     endpoint   = "https://workspace.example.internal"
#     project_id = var.project_id
#   }
