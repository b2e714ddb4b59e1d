//! The server object as the real service sends it: every field of the `AppServer` model of
//! Huawei's official SDK (huaweicloudsdkworkspaceapp 3.1.219) in the JSON type the SDK
//! declares — `host_address` a list of network objects, `freeze` a list of `{effect, scene}`,
//! `flavor` and `product_info` objects, `session_count` an integer, and so on. ShowServer
//! answers a few fields more than a ListServers item (`addresses`, `root_volume`,
//! `data_volumes`, `security_groups`).
//!
//! Only the fields a client reads carry the simulator's state; the others hold plausible
//! fixed values, so that a client that reads more than it should, or decodes a field with the
//! wrong type, fails against the simulator the way it would against the cloud.
//! `tests/data/app-server.example.json` holds the SDK-shaped example this is tested against.

use serde_json::{json, Value};

use super::servers::{format_api_time, GroupView, ServerSnapshot, SessionView};

/// Which answer the object is part of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `GET …/app-servers/{id}`: the object at top level, with the volume and network details.
    Show,
    /// One item of `GET …/app-servers`.
    ListItem,
}

/// A stable fake MAC address for the server at `ip` (`fa:16:3e` is OpenStack's prefix).
fn mac_for(ip: &str) -> String {
    let octets: Vec<u8> = ip.split('.').filter_map(|o| o.parse().ok()).collect();
    let tail = |i: usize| octets.get(i).copied().unwrap_or(0);
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", tail(1), tail(2), tail(3))
}

fn volume(server: &ServerSnapshot, kind: &str, device: &str, size: u32) -> Value {
    json!({
        "encrypt_flag": "0",
        "kms_key": "",
        "key_alias": "",
        "type": "SAS",
        "size": size,
        "kms_grant_id": "",
        "device": device,
        "id": format!("{kind}-{}", server.id),
        "volume_id": format!("vol-{kind}-{}", server.id),
        "cluster_id": "",
    })
}

/// The server's one network interface (`EcsNetWork` in the SDK).
fn host_address(server: &ServerSnapshot) -> Value {
    json!({
        "addr": server.ip_address,
        "version": 4,
        "OS-EXT-IPS-MAC:mac_addr": mac_for(&server.ip_address),
        "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS:port_id": format!("port-{}", server.id),
        "vpc_id": "vpc-simulated",
        "subnet_id": "subnet-simulated",
        "tenant_type": "tenant",
    })
}

/// The flavour's product (fixed values of the right types).
fn product_info() -> Value {
    json!({
        "product_id": "workspace.appstream.general.xlarge.4",
        "flavor_id": "s6.xlarge.4",
        "type": "BASE",
        "architecture": "x86",
        "cpu": "4",
        "cpu_desc": "4 vCPUs",
        "memory": "16384",
        "is_gpu": false,
        "system_disk_type": "SAS",
        "system_disk_size": "80",
        "gpu_desc": "",
        "descriptions": "General computing",
        "charge_mode": "0",
        "contain_data_disk": false,
        "resource_type": "hws.resource.type.workspace.appstream",
        "cloud_service_type": "hws.service.type.vdi",
        "volume_product_type": "workspace",
        "sessions": 20,
        "status": "normal",
        "cond_operation_az": "cn-north-4a(normal)",
        "sub_product_list": ["workspace.appstream.general.xlarge.4"],
        "domain_ids": ["simulated-domain-id"],
        "package_type": "general",
        "expire_time": "2099-12-31T23:59:59.000Z",
        "support_gpu_type": "",
    })
}

/// The object the API answers for `server`.
pub fn server_json(server: &ServerSnapshot, shape: Shape) -> Value {
    let tags: Vec<Value> = server
        .tags
        .iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    let freeze: Vec<Value> = server
        .freeze
        .iter()
        .map(|entry| json!({ "effect": entry.effect, "scene": entry.scene }))
        .collect();
    let mut object = json!({
        "id": server.id,
        "name": server.name,
        "machine_name": server.machine_name,
        "description": "",
        "server_group_id": server.server_group_id,
        "flavor": {
            "id": "workspace.appstream.general.xlarge.4",
            "links": [{
                "rel": "self",
                "hrel": "https://ecs.example.invalid/v1/flavors/workspace.appstream.general.xlarge.4",
            }],
        },
        "status": server.status,
        "create_time": server.create_time,
        "update_time": server.update_time,
        "image_id": server.image_id,
        "availability_zone": "cn-north-4a",
        "domain": "corp.example.com",
        "ou_name": "AppServers",
        "sid": format!("S-1-5-21-1004336348-1177238915-{}", server.ip_address.replace('.', "")),
        "instance_id": format!("ecs-{}", server.id),
        "os_version": "Windows Server 2019 Datacenter",
        "os_type": "Windows",
        "order_id": "",
        "maintain_status": server.maintain_status,
        "scaling_auto_create": false,
        "job_id": "",
        "job_type": "CREATE_SERVER",
        "job_status": "SUCCESS",
        "job_time": server.create_time,
        "resource_pool_id": "",
        "resource_pool_type": "public",
        "host_id": "",
        "server_group_name": server.server_group_name,
        "product_info": product_info(),
        "metadata": { "charging_mode": "0" },
        "session_count": server.session_count,
        "vm_status": server.vm_status,
        "task_status": server.task_status,
        "freeze": freeze,
        "host_address": [host_address(server)],
        "enterprise_project_id": "0",
        "tags": tags,
    });
    if shape == Shape::Show {
        if let Some(fields) = object.as_object_mut() {
            fields.insert("addresses".into(), json!({ "charging_mode": "0" }));
            fields.insert("root_volume".into(), volume(server, "root", "/dev/vda", 80));
            fields.insert(
                "data_volumes".into(),
                json!([volume(server, "data", "/dev/vdb", 100)]),
            );
            fields.insert(
                "security_groups".into(),
                json!([{ "id": "sg-simulated", "name": "default" }]),
            );
        }
    }
    object
}

/// One item of `GET …/app-server-groups` (the SDK's `AppServerGroup`): the id, name and
/// server count are the simulator's; the rest plausible fixed values of the right types.
pub fn group_json(group: &GroupView, created: &str) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "description": "",
        "image_id": super::servers::DEFAULT_IMAGE_ID,
        "os_type": "Windows",
        "product_id": "workspace.appstream.general.xlarge.4",
        "subnet_id": "subnet-simulated",
        "system_disk_type": "SAS",
        "system_disk_size": 80,
        "is_vdi": false,
        "extra_session_type": "CPU",
        "extra_session_size": 0,
        "app_type": "SESSION_DESKTOP_APP",
        "create_time": created,
        "update_time": created,
        "storage_mount_policy": "ANY",
        "enterprise_project_id": "0",
        "primary_server_group_ids": [],
        "secondary_server_group_ids": [],
        "server_group_status": true,
        "site_type": "CENTER",
        "site_id": "cn-north-4",
        "app_server_flavor_count": 1,
        "app_server_count": group.app_server_count,
        "app_group_count": 1,
        "image_name": "Windows Server 2019 AppStream",
        "product_info": product_info(),
        "subnet_name": "subnet-simulated",
        "scaling_policy": {
            "enable": false,
            "max_scaling_amount": 0,
            "single_expansion_count": 0,
            "scaling_policy_by_session": {
                "session_usage_threshold": 0,
                "shrink_after_session_idle_minutes": 0,
            },
            "scaling_policy_by_resource": {
                "cpu_usage_threshold": 0,
                "mem_usage_threshold": 0,
                "gpu_usage_threshold": 0,
            },
        },
        "tags": [],
        "ou_name": "AppServers",
    })
}

/// One item of `GET …/session/list-sessions` (the SDK's `SessionInfo`). An open session has
/// no end yet: `end_time` is an empty string (the SDK declares a string).
pub fn session_json(session: &SessionView) -> Value {
    let start = format_api_time(session.start_time);
    json!({
        "id": session.id,
        "session_stamp": session.number.to_string(),
        "os_session_id": format!("{}", session.number % 65_536),
        "protocol_type": "HDP",
        "login_user": session.login_user,
        "session_type": "DESKTOP",
        "app_server_group_id": session.server_group_id,
        "app_server_group_name": session.server_group_name,
        "pre_conn_time": start,
        "start_time": start,
        "end_time": "",
        "status_continue_time": "0",
        "machine_sid": format!("S-1-5-21-1004336348-1177238915-{}", session.vm_ip.replace('.', "")),
        "machine_name": session.machine_name,
        "session_state": session.state,
        "app_name": "Desktop",
        "client_mac": "fa:16:3e:00:00:01",
        "client_name": format!("PC-{}", session.login_user.to_uppercase()),
        "client_ip": "192.168.100.10",
        "public_ip": "203.0.113.10",
        "client_version": "1.0.0",
        "client_type": "WINDOWS",
        "agent_version": "1.0.0",
        "vm_ip": session.vm_ip,
        "failed_reason": "",
        "failed_code": "",
        "last_update_status_time": start,
        "tenant_id": "simulated-tenant",
        "primary_server_group_id": session.server_group_id,
        "secondary_server_group_id": "",
    })
}
