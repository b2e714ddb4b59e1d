# Reboot the servers after their image changed (Terraform 1.14 or later). The action runs after
# every apply that updates the resource naming it in `action_trigger`; here a terraform_data
# object stands for whatever records the image (for example the server group resource of the
# huaweicloud provider).

variable "image_id" {
  description = "Image the APP servers run; changing it reboots them."
  type        = string
}

variable "server_ids" {
  type = set(string)
}

action "workspace_app_server_reboot" "after_image_change" {
  config {
    server_ids = var.server_ids
  }
}

resource "terraform_data" "image" {
  input = var.image_id

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.workspace_app_server_reboot.after_image_change]
    }
  }
}
