# Reboot a pool of servers on demand (Terraform 1.14 or later):
#
#   terraform apply -invoke=action.workspace_app_server_reboot.pool
#
# Only this action runs: nothing else is planned or changed, and nothing is kept in the state.

variable "pool_server_ids" {
  description = "Servers to reboot."
  type        = set(string)
}

action "workspace_app_server_reboot" "pool" {
  config {
    server_ids = var.pool_server_ids
    type       = "SOFT"
    timeout    = "45m"
  }
}
