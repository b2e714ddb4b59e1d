# Rolling reboot of a whole server group on image change: at most a quarter of the group is
# rebooting at any moment. Waves follow ascending server ID; each wave is rebooted and ready
# again before the next one starts.

variable "image_id" {
  description = "Image the APP servers run; changing it reboots them."
  type        = string
}

data "workspace_app_servers" "web" {
  server_group_name = "web-servers"
}

resource "workspace_app_server_reboot" "web" {
  server_ids = data.workspace_app_servers.web.ids

  triggers = {
    image_id = var.image_id
  }

  # A count ("5"; a bare 5 works too) or a percentage of the listed servers, rounded down,
  # at least 1.
  max_unavailable = "25%"

  # Without a timeouts block the bound grows with the number of waves (15 minutes each).
}
