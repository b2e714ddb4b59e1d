# Quickstart: reboot a handful of Workspace APP servers, and reboot them again whenever
# `generation` changes. `bash scripts/demo.sh` runs this against a local simulator; against the
# real cloud, set the HW_* environment variables (see docs/index.md) and your own server IDs.

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

variable "server_ids" {
  description = "Servers to reboot. The demo simulator serves srv-0001 … srv-0006; srv-0006 is left out on purpose."
  type        = set(string)
  default     = ["srv-0001", "srv-0002", "srv-0003", "srv-0004", "srv-0005"]
}

variable "generation" {
  description = "Any new value reboots every server again (e.g. -var generation=2)."
  type        = string
  default     = "1"
}

variable "reboot_type" {
  description = "SOFT (normal) or HARD (forced)."
  type        = string
  default     = "SOFT"
}

resource "workspace_app_server_reboot" "quickstart" {
  server_ids = var.server_ids
  type       = var.reboot_type

  triggers = {
    generation = var.generation
  }

  # Wait until every rebooted server is running again (the default).
  wait_for_ready = true

  timeouts {
    create = "10m"
    update = "10m"
  }
}

output "id" {
  description = "Identity of the reboot resource."
  value       = workspace_app_server_reboot.quickstart.id
}

output "rebooted_at" {
  description = "When this resource last rebooted the servers (RFC 3339)."
  value       = workspace_app_server_reboot.quickstart.rebooted_at
}

output "rebooted_servers" {
  description = "The servers it reboots."
  value       = sort(tolist(workspace_app_server_reboot.quickstart.server_ids))
}
