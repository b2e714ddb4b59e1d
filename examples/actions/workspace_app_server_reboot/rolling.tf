# Roll a reboot out over a whole server group, a quarter at a time, draining each wave first
# (Terraform 1.14 or later):
#
#   terraform apply -invoke=action.workspace_app_server_reboot.group
#
# Each wave goes into maintenance mode (no new sessions), its users get up to 15 minutes to
# finish, then a warning and 5 more minutes before they are logged off; the wave is rebooted,
# waited for, and taken out of maintenance again before the next wave starts. Servers that were
# in maintenance before stay there. With no `timeout`, the bound grows to fit the waves.

data "workspace_app_servers" "group" {
  server_group_name = "office-pool"
}

action "workspace_app_server_reboot" "group" {
  config {
    server_ids      = data.workspace_app_servers.group.ids
    max_unavailable = "25%"

    drain {
      timeout      = "15m"
      on_timeout   = "logoff"
      title        = "Server maintenance"
      message      = "This server restarts in 5 minutes. Please save your work and sign in again."
      logoff_delay = "5m"
    }
  }
}
