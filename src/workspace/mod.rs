//! Huawei Cloud Workspace APP API client and simulator. Knows nothing about Terraform.
