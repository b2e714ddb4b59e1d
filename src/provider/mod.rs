//! The workspace provider: configuration and the `workspace_app_server_reboot` resource.
