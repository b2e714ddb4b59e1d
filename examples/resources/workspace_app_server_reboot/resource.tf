# Rolling reboot on image change: the servers of each group are rebooted whenever the image
# they should run changes, one group after the other.

variable "image_id" {
  description = "Image the APP servers run; changing it reboots them."
  type        = string
}

variable "group_a_server_ids" {
  type = set(string)
}

variable "group_b_server_ids" {
  type = set(string)
}

resource "workspace_app_server_reboot" "group_a" {
  server_ids = var.group_a_server_ids
  type       = "SOFT"

  triggers = {
    image_id = var.image_id
  }
}

# Starts only after group A is back (wait_for_ready defaults to true), so half of the servers
# keep serving while the other half reboots.
resource "workspace_app_server_reboot" "group_b" {
  server_ids = var.group_b_server_ids
  type       = "SOFT"

  triggers = {
    image_id = var.image_id
  }

  depends_on = [workspace_app_server_reboot.group_a]

  timeouts {
    create = "45m"
    update = "45m"
  }
}
