//! `login`, `logout`, `whoami`, and opening a signed-in connection.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use tonic::Code;
use xieshang_proto::tenants::v1::auth_service_client::AuthServiceClient;
use xieshang_proto::tenants::v1::user_service_client::UserServiceClient;
use xieshang_proto::tenants::v1::{ChangePasswordRequest, LoginRequest, LogoutRequest, WhoAmIRequest};

use super::api::Api;
use super::render::{self, json_out, line};
use super::session::{self, resolve_server, session_path};
use super::{ClientArgs, LoginArgs, Out};

/// Shortest password the server accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Connects with the stored session; refreshed tokens are saved back.
pub async fn signed_in(common: &ClientArgs) -> Result<Api> {
    let path = session_path(common)?;
    let session = session::require(&path)?;
    let server = resolve_server(common.server.as_deref(), Some(&session));
    Api::with_session(&server, session, Some(path)).await
}

/// Reads a secret from the terminal, or explains how to pass it when there is
/// no terminal.
fn prompt_secret(prompt: &str, how: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("{how} (stdin is not a terminal, so it cannot be asked for)");
    }
    Ok(rpassword::prompt_password(prompt)?)
}

/// Why a new password is not acceptable, if it is not.
pub fn check_new_password(current: &str, new: &str) -> Option<String> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!("the new password must have at least {MIN_PASSWORD_CHARS} characters"))
    } else if new == current {
        Some("the new password must differ from the one-time password".to_owned())
    } else {
        None
    }
}

/// The new password: from `--new-password`/`XIESHANG_NEW_PASSWORD`, else asked
/// twice on the terminal.
fn new_password(given: Option<String>, current: &str) -> Result<String> {
    if let Some(new) = given {
        if let Some(problem) = check_new_password(current, &new) {
            bail!("{problem}");
        }
        return Ok(new);
    }
    let how =
        "your password is a one-time password and must be changed: pass --new-password or set XIESHANG_NEW_PASSWORD";
    for _ in 0..3 {
        let new = prompt_secret(&format!("New password (at least {MIN_PASSWORD_CHARS} characters): "), how)?;
        if let Some(problem) = check_new_password(current, &new) {
            eprintln!("{problem}");
            continue;
        }
        let again = prompt_secret("New password again: ", how)?;
        if again != new {
            eprintln!("the two passwords differ");
            continue;
        }
        return Ok(new);
    }
    bail!("no acceptable new password given; the password was not changed")
}

/// `xieshang login`.
pub async fn login(args: LoginArgs, out: Out<'_>) -> Result<()> {
    let path = session_path(&args.common)?;
    // A damaged old session must not prevent signing in again.
    let previous = session::load(&path).ok().flatten();
    let server = resolve_server(args.common.server.as_deref(), previous.as_ref());
    let committee = args.committee.as_deref().unwrap_or("").trim().to_owned();
    let username = args.username.trim().to_owned();
    if username.is_empty() {
        bail!("the user name must not be empty");
    }

    let api = Api::connect(&server).await?;
    let password = match args.password {
        Some(p) => p,
        None => prompt_secret(
            &format!("Password for {username}: "),
            "no password given: pass --password or set XIESHANG_PASSWORD",
        )?,
    };
    let request = |password: &str| LoginRequest {
        committee_code: committee.clone(),
        username: username.clone(),
        password: password.to_owned(),
    };
    let mut response = api.login(request(&password)).await?;
    if response.user.as_ref().is_some_and(|u| u.must_change_password) {
        eprintln!("Your password is a one-time password; choose a new one.");
        let changed = match new_password(args.new_password, &password) {
            Ok(new) => api
                .call_with_token(
                    &response.access_token,
                    ChangePasswordRequest { current_password: password.clone(), new_password: new.clone() },
                    |channel, request| async move { UserServiceClient::new(channel).change_password(request).await },
                )
                .await
                .map(|_| new)
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        let new = match changed {
            Ok(new) => new,
            Err(e) => {
                // Do not leave the unusable one-time session open.
                let _ = api
                    .call_with_token(&response.access_token, LogoutRequest {}, |channel, request| async move {
                        AuthServiceClient::new(channel).logout(request).await
                    })
                    .await;
                return Err(e);
            }
        };
        eprintln!("Password changed.");
        response = api.login(request(&new)).await?;
    }
    let signed = api.session_from(response, &committee);

    // End the session this one replaces, if it was on the same server.
    if let Some(old) = previous.filter(|old| old.server == server && !old.access_token.is_empty()) {
        let _ = api
            .call_with_token(&old.access_token, LogoutRequest {}, |channel, request| async move {
                AuthServiceClient::new(channel).logout(request).await
            })
            .await;
    }

    session::save(&path, &signed)?;

    let who = api
        .call_with_token(&signed.access_token, WhoAmIRequest {}, |channel, request| async move {
            AuthServiceClient::new(channel).who_am_i(request).await
        })
        .await
        .ok();
    if args.common.json {
        let who = who.unwrap_or_default();
        return json_out(out, &render::whoami_json(&server, &who));
    }
    let whom = if signed.display_name.is_empty() {
        signed.username.clone()
    } else {
        format!("{} ({})", signed.display_name, signed.username)
    };
    let place = match who.as_ref().and_then(|w| w.committee.as_ref()) {
        Some(c) => format!(" in {}", render::label(c)),
        None if committee.is_empty() => " as a platform operator".to_owned(),
        None => format!(" in committee {committee}"),
    };
    line(out, format!("Signed in to {server} as {whom}{place}."))?;
    line(out, format!("Session stored in {}.", path.display()))
}

/// `xieshang logout`.
pub async fn logout(common: ClientArgs, out: Out<'_>) -> Result<()> {
    let path = session_path(&common)?;
    let stored = match session::load(&path) {
        Ok(stored) => stored,
        Err(e) => {
            eprintln!("warning: {e:#}");
            None
        }
    };
    let Some(stored) = stored else {
        session::delete(&path)?;
        if common.json {
            return json_out(out, &serde_json::json!({ "signed_out": false }));
        }
        return line(out, "Not signed in.");
    };
    let server = resolve_server(common.server.as_deref(), Some(&stored));
    match Api::with_session(&server, stored, Some(path.clone())).await {
        Ok(mut api) => match rpc!(api, AuthServiceClient, logout, LogoutRequest {}).await {
            Ok(_) => {}
            // Already expired or revoked: nothing left to end.
            Err(e) if e.code == Code::Unauthenticated => {}
            Err(e) => eprintln!("warning: the session could not be ended on the server: {e}"),
        },
        Err(e) => eprintln!("warning: {e:#}; the stored session is deleted anyway"),
    }
    session::delete(&path)?;
    if common.json {
        return json_out(out, &serde_json::json!({ "signed_out": true }));
    }
    line(out, "Signed out.")
}

/// `xieshang whoami`.
pub async fn whoami(common: ClientArgs, out: Out<'_>) -> Result<()> {
    let mut api = signed_in(&common).await?;
    let who = rpc!(api, AuthServiceClient, who_am_i, WhoAmIRequest {}).await?;
    if common.json {
        return json_out(out, &render::whoami_json(api.server(), &who));
    }
    write!(out, "{}", render::whoami_text(api.server(), &who))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_checked() {
        assert!(check_new_password("old-password", "short").unwrap().contains("10"));
        assert!(check_new_password("same-password", "same-password").is_some());
        assert_eq!(check_new_password("old", "长城长城长城长城长城"), None);
        assert_eq!(check_new_password("old", "a-good-passphrase"), None);
    }
}
