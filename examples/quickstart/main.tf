# Quickstart: a rolling, drained reboot of one server group, picked by its name.
#
# - The data source finds the servers of the group named `var.server_group_name`.
# - The reboot takes at most `var.max_unavailable` of them away at once (waves in ascending
#   server ID, each rebooted and ready before the next starts).
# - Before its reboot each wave is drained: its servers go into maintenance mode (no new user
#   sessions), the provider waits up to `var.drain_timeout` for the sessions to end, then sends
#   the users still connected a logoff message and logs them off after `var.logoff_delay`.
#   Once the wave is back, its servers leave maintenance mode again.
# - Any new `generation` reboots the group again (e.g. -var generation=2).
#
# `bash scripts/demo.sh` runs this against a local simulator (with short drain times); against
# the real cloud, set the HW_* environment variables (see docs/index.md) and your group's name.

terraform {
  required_providers {
    workspace = {
      source = "tfws/workspace"
    }
  }
}

# Everything comes from the environment: HW_PROJECT_ID, HW_ACCESS_KEY / HW_SECRET_KEY (or
# HW_AUTH_TOKEN), and HW_REGION_NAME or HW_WORKSPACE_ENDPOINT.
provider "workspace" {}

variable "server_group_name" {
  description = "Name of the server group to reboot (exact). The demo simulator has \"web\" (12 servers) and \"batch\" (4, left alone)."
  type        = string
  default     = "web"
}

variable "generation" {
  description = "Any new value reboots the group again (e.g. -var generation=2)."
  type        = string
  default     = "1"
}

variable "max_unavailable" {
  description = "At most this many servers of the group rebooting at once: a count (\"3\") or a percentage (\"25%\")."
  type        = string
  default     = "25%"
}

variable "drain_timeout" {
  description = "How long to wait for a wave's user sessions to end by themselves."
  type        = string
  default     = "10m"
}

variable "logoff_delay" {
  description = "How long users have between the logoff message and being logged off."
  type        = string
  default     = "5m"
}

data "workspace_app_servers" "group" {
  server_group_name = var.server_group_name
}

resource "workspace_app_server_reboot" "quickstart" {
  server_ids = data.workspace_app_servers.group.ids

  triggers = {
    generation = var.generation
  }

  max_unavailable = var.max_unavailable

  drain {
    timeout      = var.drain_timeout
    on_timeout   = "logoff"
    title        = "Server maintenance"
    message      = "This server restarts for maintenance. Please save your work: you will be logged off shortly and can reconnect right away."
    logoff_delay = var.logoff_delay
  }

  # No timeouts block: with waves and a drain the default grows to fit the rollout.
}

output "servers_rebooted" {
  description = "How many servers the group has: all of them are rebooted."
  value       = length(data.workspace_app_servers.group.ids)
}

output "rebooted_at" {
  description = "When this resource last rebooted the group (RFC 3339)."
  value       = workspace_app_server_reboot.quickstart.rebooted_at
}
