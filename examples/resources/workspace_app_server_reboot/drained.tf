# Drained rolling reboot: five servers at a time, and no user loses a session without notice.
# Each wave goes into maintenance mode first (no new sessions land on it); its users get up to
# 15 minutes to finish, then those still connected see the message and are logged off 5
# minutes later. After the reboot the wave leaves maintenance mode again (servers that were in
# maintenance mode before stay there).
#
# IAM permissions, besides workspace:server:batchReboot and the read permissions:
# workspace:server:batchChangeMaintainMode, workspace:session:listSessions,
# workspace:session:logoffUserSession, and workspace:serverGroup:list for server_group_name.

variable "image_id" {
  description = "Image the APP servers run; changing it reboots them."
  type        = string
}

data "workspace_app_servers" "office" {
  server_group_name = "office-apps"
}

resource "workspace_app_server_reboot" "office" {
  server_ids = data.workspace_app_servers.office.ids

  triggers = {
    image_id = var.image_id
  }

  max_unavailable = 5

  drain {
    timeout      = "15m"
    on_timeout   = "logoff"
    title        = "Scheduled maintenance"
    message      = "This server restarts for an update. Save your work: you will be logged off in 5 minutes and can reconnect right away."
    logoff_delay = "5m"
  }
}
