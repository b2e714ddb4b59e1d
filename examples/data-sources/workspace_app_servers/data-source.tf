# Reboot a whole server group, picked by its name, whenever the image it should run changes.

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
}

# Servers whose name contains "web" that are in maintenance mode.
data "workspace_app_servers" "web_in_maintenance" {
  server_name     = "web"
  maintain_status = true
}

output "web_servers_in_maintenance" {
  value = [for server in data.workspace_app_servers.web_in_maintenance.servers : server.name]
}
