//! `xieshang users …`.

use anyhow::{Result, bail};
use serde_json::json;
use xieshang_proto::common::v1::Role;
use xieshang_proto::tenants::v1::user_service_client::UserServiceClient;
use xieshang_proto::tenants::v1::{
    CreateUserRequest, DisableUserRequest, EnableUserRequest, GetUserRequest, ListUsersRequest, ResetPasswordRequest,
    SetUserRolesRequest, User,
};

use super::api::{Api, ApiError};
use super::auth::{MIN_PASSWORD_CHARS, signed_in};
use super::committees::get_by_code;
use super::render::{self, json_out, line};
use super::{Out, UsersArgs, UsersCommand};

const USER_PAGE: i32 = 100;

/// The committee id for `--committee CODE`, else the signed-in user's own
/// committee, else empty (platform level).
async fn committee_id(api: &mut Api, code: Option<String>) -> Result<String, ApiError> {
    let code = code
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .or_else(|| api.session().map(|s| s.committee_code.clone()).filter(|c| !c.is_empty()));
    match code {
        Some(code) => Ok(get_by_code(api, &code).await?.id),
        None => Ok(String::new()),
    }
}

/// Every page of ListUsers.
pub async fn list_all(api: &mut Api, mut request: ListUsersRequest) -> Result<Vec<User>, ApiError> {
    let mut all = Vec::new();
    request.page_size = USER_PAGE;
    loop {
        let page = rpc!(api, UserServiceClient, list_users, request.clone()).await?;
        all.extend(page.users);
        if page.next_page_token.is_empty() || page.next_page_token == request.page_token {
            return Ok(all);
        }
        request.page_token = page.next_page_token;
    }
}

fn roles_i32(roles: &[Role]) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for role in roles {
        if !out.contains(&(*role as i32)) {
            out.push(*role as i32);
        }
    }
    out
}

fn who(user: &User) -> String {
    if user.display_name.is_empty() {
        user.username.clone()
    } else {
        format!("{} ({})", user.username, user.display_name)
    }
}

pub async fn run(args: UsersArgs, out: Out<'_>) -> Result<()> {
    let json = args.common.json;
    let mut api = signed_in(&args.common).await?;
    match args.command {
        UsersCommand::List { committee, role, all } => {
            let request = ListUsersRequest {
                committee_id: committee_id(&mut api, committee).await?,
                role: role.map(|r| r as i32).unwrap_or_default(),
                include_disabled: all,
                ..Default::default()
            };
            let users = list_all(&mut api, request).await?;
            if json {
                return json_out(out, &serde_json::Value::Array(users.iter().map(render::user_json).collect()));
            }
            if users.is_empty() {
                return line(out, "No users found.");
            }
            line(out, render::users_table(&users))
        }
        UsersCommand::Get { id } => {
            let user = rpc!(api, UserServiceClient, get_user, GetUserRequest { id }).await?;
            if json {
                return json_out(out, &render::user_json(&user));
            }
            line(out, render::user_detail(&user))
        }
        UsersCommand::Create { committee, username, display_name, roles, password } => {
            if let Some(p) = &password
                && p.chars().count() < MIN_PASSWORD_CHARS
            {
                bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
            }
            let user = User {
                committee_id: committee_id(&mut api, committee).await?,
                username: username.trim().to_owned(),
                display_name: display_name.trim().to_owned(),
                roles: roles_i32(&roles),
                ..Default::default()
            };
            let request = CreateUserRequest { user: Some(user), password: password.unwrap_or_default() };
            let created = rpc!(api, UserServiceClient, create_user, request).await?;
            let user = created.user.unwrap_or_default();
            if json {
                return json_out(
                    out,
                    &json!({
                        "user": render::user_json(&user),
                        "one_time_password": created.one_time_password,
                    }),
                );
            }
            line(out, format!("Created user {}, id {}.", who(&user), user.id))?;
            if !created.one_time_password.is_empty() {
                line(
                    out,
                    format!(
                        "One-time password (shown only now): {}\nThe user must change it at the first sign-in.",
                        created.one_time_password
                    ),
                )?;
            }
            Ok(())
        }
        UsersCommand::SetRoles { id, roles } => {
            let request = SetUserRolesRequest { id, roles: roles_i32(&roles), etag: String::new() };
            let user = rpc!(api, UserServiceClient, set_user_roles, request).await?;
            if json {
                return json_out(out, &render::user_json(&user));
            }
            line(out, format!("{} now has the roles: {}.", who(&user), render::roles_text(&user.roles)))
        }
        UsersCommand::Disable { id } => {
            let user = rpc!(api, UserServiceClient, disable_user, DisableUserRequest { id }).await?;
            if json {
                return json_out(out, &render::user_json(&user));
            }
            line(out, format!("Disabled {}; their sessions are revoked.", who(&user)))
        }
        UsersCommand::Enable { id } => {
            let user = rpc!(api, UserServiceClient, enable_user, EnableUserRequest { id }).await?;
            if json {
                return json_out(out, &render::user_json(&user));
            }
            line(out, format!("Enabled {}.", who(&user)))
        }
        UsersCommand::ResetPassword { id } => {
            let reset = rpc!(api, UserServiceClient, reset_password, ResetPasswordRequest { id: id.clone() }).await?;
            if json {
                return json_out(out, &json!({ "id": id, "one_time_password": reset.one_time_password }));
            }
            line(
                out,
                format!(
                    "New one-time password (shown only now): {}\nThe user's sessions are revoked; they must change it at the next sign-in.",
                    reset.one_time_password
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_deduplicated_in_order() {
        assert_eq!(roles_i32(&[Role::Staff, Role::Member, Role::Staff]), vec![Role::Staff as i32, Role::Member as i32]);
    }
}
