//! The gRPC surface: the only module that touches generated protobuf types.
//! Every handler reads the same: authenticate → convert and validate →
//! call the store → convert back; errors map through `TenantsError`.

use tonic::{Request, Response, Status};
use uuid::Uuid;
use xieshang_platform::auth::{authenticated, rpc_method};
use xieshang_platform::ids::{CommitteeId, UserId};
use xieshang_platform::time::{date_from_proto, date_to_proto, timestamp};
use xieshang_proto::common::v1::{CommitteeLevel, Role};
use xieshang_proto::tenants::v1 as pb;

use crate::domain::{self, Level};
use crate::entity::audit_entry;
use crate::error::TenantsError;
use crate::store::{CommitteeFilter, CommitteeUpdate, LoginOutcome, NewCommittee, NewUser, Store, UserFilter};

type Reply<T> = Result<Response<T>, Status>;

fn level_from_proto(field: &'static str, v: i32) -> Result<Option<Level>, TenantsError> {
    match CommitteeLevel::try_from(v) {
        Ok(CommitteeLevel::Unspecified) => Ok(None),
        Ok(CommitteeLevel::Provincial) => Ok(Some(Level::Provincial)),
        Ok(CommitteeLevel::City) => Ok(Some(Level::City)),
        Ok(CommitteeLevel::County) => Ok(Some(Level::County)),
        Err(_) => Err(TenantsError::invalid(field, format!("{v} is not a committee level"))),
    }
}

fn optional_committee_id(field: &str, s: &str) -> Result<Option<CommitteeId>, Status> {
    if s.is_empty() { Ok(None) } else { CommitteeId::parse(field, s).map(Some) }
}

fn term_to_proto(t: domain::Term) -> pb::Term {
    pb::Term {
        id: t.id.to_string(),
        committee_id: t.committee_id.to_string(),
        number: t.number,
        start_date: Some(date_to_proto(t.start_date)),
        end_date: t.end_date.map(date_to_proto),
        latest_session_number: t.latest_session_number,
    }
}

fn committee_to_proto(c: domain::Committee) -> pb::Committee {
    let domain::Committee {
        id,
        code,
        name,
        level,
        parent_id,
        parent_code,
        path: _,
        depth,
        office_address,
        office_phone,
        suspended,
        version,
        current_term,
        created_at,
        updated_at,
    } = c;
    pb::Committee {
        id: id.to_string(),
        code,
        name,
        level: crate::store::level_to_proto(level),
        parent_id: parent_id.map(|p| p.to_string()).unwrap_or_default(),
        parent_code: parent_code.unwrap_or_default(),
        office_address,
        office_phone,
        state: if suspended { pb::CommitteeState::Suspended } else { pb::CommitteeState::Active } as i32,
        current_term: current_term.map(term_to_proto),
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(updated_at)),
        etag: domain::etag(version),
        depth: i32::from(depth),
    }
}

fn user_to_proto(u: domain::User) -> pb::User {
    let domain::User {
        id,
        committee_id,
        username,
        display_name,
        roles,
        disabled,
        must_change_password,
        version,
        created_at,
        updated_at,
    } = u;
    pb::User {
        id: id.to_string(),
        committee_id: committee_id.map(|c| c.to_string()).unwrap_or_default(),
        username,
        display_name,
        roles: roles.into_iter().map(|r| r as i32).collect(),
        disabled,
        must_change_password,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(updated_at)),
        etag: domain::etag(version),
    }
}

fn plenary_to_proto(s: domain::PlenarySession) -> pb::PlenarySession {
    pb::PlenarySession {
        id: s.id.to_string(),
        term_id: s.term_id.to_string(),
        number: s.number,
        start_date: Some(date_to_proto(s.start_date)),
    }
}

fn login_to_proto(outcome: LoginOutcome) -> pb::LoginResponse {
    let LoginOutcome { tokens, user } = outcome;
    pb::LoginResponse {
        access_token: tokens.access_token,
        access_token_expire_time: Some(timestamp(tokens.access_expires)),
        refresh_token: tokens.refresh_token,
        refresh_token_expire_time: Some(timestamp(tokens.refresh_expires)),
        user: Some(user_to_proto(user)),
    }
}

fn audit_to_proto(e: audit_entry::Model) -> pb::AuditEntry {
    pb::AuditEntry {
        id: e.id.to_string(),
        committee_id: e.committee_id.map(|c| c.to_string()).unwrap_or_default(),
        actor_user_id: e.actor_user_id.map(|u| u.to_string()).unwrap_or_default(),
        actor_username: e.actor_username,
        method: e.method,
        target_type: e.target_type,
        target_id: e.target_id,
        changes_json: e.changes,
        create_time: Some(timestamp(e.created_at)),
    }
}

/// Paths of a field mask, checked against the allowed ones.
fn mask_paths<'a>(mask: Option<&'a prost_types::FieldMask>, allowed: &[&str]) -> Result<Vec<&'a str>, Status> {
    let mask = mask.ok_or_else(|| xieshang_platform::status::invalid_argument("update_mask", "is required"))?;
    if mask.paths.is_empty() {
        return Err(xieshang_platform::status::invalid_argument("update_mask", "names no field"));
    }
    mask.paths
        .iter()
        .map(|p| {
            if allowed.contains(&p.as_str()) {
                Ok(p.as_str())
            } else {
                Err(xieshang_platform::status::invalid_argument(
                    "update_mask",
                    format!("{p} cannot be updated; allowed: {}", allowed.join(", ")),
                ))
            }
        })
        .collect()
}

/// `xieshang.tenants.v1.CommitteeService`.
pub struct CommitteeApi(pub Store);

#[tonic::async_trait]
impl pb::committee_service_server::CommitteeService for CommitteeApi {
    async fn create_committee(&self, req: Request<pb::CreateCommitteeRequest>) -> Reply<pb::Committee> {
        let ctx = authenticated(&req)?;
        let c = req
            .get_ref()
            .committee
            .as_ref()
            .ok_or_else(|| xieshang_platform::status::invalid_argument("committee", "is required"))?;
        let input = NewCommittee {
            code: c.code.clone(),
            name: c.name.clone(),
            level: level_from_proto("level", c.level)?,
            parent_id: optional_committee_id("parent_id", &c.parent_id)?,
            office_address: c.office_address.clone(),
            office_phone: c.office_phone.clone(),
        };
        let created = self.0.create_committee(ctx, input).await?;
        Ok(Response::new(committee_to_proto(created)))
    }

    async fn get_committee(&self, req: Request<pb::GetCommitteeRequest>) -> Reply<pb::Committee> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let (id, code) = match (r.id.is_empty(), r.code.is_empty()) {
            (false, true) => (Some(CommitteeId::parse("id", &r.id)?), None),
            (true, false) => (None, Some(r.code.trim())),
            _ => return Err(xieshang_platform::status::invalid_argument("id", "give exactly one of id or code")),
        };
        let found = self.0.get_committee(ctx, id, code).await?;
        Ok(Response::new(committee_to_proto(found)))
    }

    async fn list_committees(&self, req: Request<pb::ListCommitteesRequest>) -> Reply<pb::ListCommitteesResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let filter = CommitteeFilter {
            level: level_from_proto("level", r.level)?,
            parent_id: optional_committee_id("parent_id", &r.parent_id)?,
            name_contains: r.name_contains.clone(),
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_committees(ctx, filter).await?;
        Ok(Response::new(pb::ListCommitteesResponse {
            committees: page.items.into_iter().map(committee_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_committee(&self, req: Request<pb::UpdateCommitteeRequest>) -> Reply<pb::Committee> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let c = r
            .committee
            .as_ref()
            .ok_or_else(|| xieshang_platform::status::invalid_argument("committee", "is required"))?;
        let id = CommitteeId::parse("committee.id", &c.id)?;
        let paths = mask_paths(r.update_mask.as_ref(), &["name", "office_address", "office_phone"])?;
        let pick = |path: &str, value: &String| paths.contains(&path).then(|| value.clone());
        let update = CommitteeUpdate {
            name: pick("name", &c.name),
            office_address: pick("office_address", &c.office_address),
            office_phone: pick("office_phone", &c.office_phone),
            etag: c.etag.clone(),
        };
        let updated = self.0.update_committee(ctx, id, update).await?;
        Ok(Response::new(committee_to_proto(updated)))
    }

    async fn suspend_committee(&self, req: Request<pb::SuspendCommitteeRequest>) -> Reply<pb::Committee> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = CommitteeId::parse("id", &r.id)?;
        let reason = domain::short_text("reason", &r.reason, 500)?;
        if reason.is_empty() {
            return Err(xieshang_platform::status::invalid_argument("reason", "is required"));
        }
        let updated = self.0.set_committee_suspended(ctx, id, Some(reason)).await?;
        Ok(Response::new(committee_to_proto(updated)))
    }

    async fn reactivate_committee(&self, req: Request<pb::ReactivateCommitteeRequest>) -> Reply<pb::Committee> {
        let ctx = authenticated(&req)?;
        let id = CommitteeId::parse("id", &req.get_ref().id)?;
        let updated = self.0.set_committee_suspended(ctx, id, None).await?;
        Ok(Response::new(committee_to_proto(updated)))
    }

    async fn list_ancestors(&self, req: Request<pb::ListAncestorsRequest>) -> Reply<pb::ListAncestorsResponse> {
        let ctx = authenticated(&req)?;
        let id = CommitteeId::parse("id", &req.get_ref().id)?;
        let list = self.0.list_ancestors(ctx, id).await?;
        Ok(Response::new(pb::ListAncestorsResponse { committees: list.into_iter().map(committee_to_proto).collect() }))
    }

    async fn list_subtree(&self, req: Request<pb::ListSubtreeRequest>) -> Reply<pb::ListSubtreeResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = CommitteeId::parse("id", &r.id)?;
        let (page, total) = self.0.list_subtree(ctx, id, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListSubtreeResponse {
            committees: page.items.into_iter().map(committee_to_proto).collect(),
            next_page_token: page.next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    async fn create_term(&self, req: Request<pb::CreateTermRequest>) -> Reply<pb::Term> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let committee_id = CommitteeId::parse("committee_id", &r.committee_id)?;
        let term = r.term.as_ref().ok_or_else(|| xieshang_platform::status::invalid_argument("term", "is required"))?;
        let start = date_from_proto("term.start_date", term.start_date.as_ref())?;
        let created = self.0.create_term(ctx, committee_id, term.number, start).await?;
        Ok(Response::new(term_to_proto(created)))
    }

    async fn list_terms(&self, req: Request<pb::ListTermsRequest>) -> Reply<pb::ListTermsResponse> {
        let ctx = authenticated(&req)?;
        let committee_id = CommitteeId::parse("committee_id", &req.get_ref().committee_id)?;
        let terms = self.0.list_terms(ctx, committee_id).await?;
        Ok(Response::new(pb::ListTermsResponse { terms: terms.into_iter().map(term_to_proto).collect() }))
    }

    async fn create_plenary_session(&self, req: Request<pb::CreatePlenarySessionRequest>) -> Reply<pb::PlenarySession> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let committee_id = CommitteeId::parse("committee_id", &r.committee_id)?;
        let session =
            r.session.as_ref().ok_or_else(|| xieshang_platform::status::invalid_argument("session", "is required"))?;
        let start = date_from_proto("session.start_date", session.start_date.as_ref())?;
        let created = self.0.create_plenary_session(ctx, committee_id, start).await?;
        Ok(Response::new(plenary_to_proto(created)))
    }

    async fn list_plenary_sessions(
        &self,
        req: Request<pb::ListPlenarySessionsRequest>,
    ) -> Reply<pb::ListPlenarySessionsResponse> {
        let ctx = authenticated(&req)?;
        let term_id = Uuid::parse_str(&req.get_ref().term_id)
            .map_err(|_| xieshang_platform::status::invalid_argument("term_id", "is not a valid id"))?;
        let sessions = self.0.list_plenary_sessions(ctx, term_id).await?;
        Ok(Response::new(pb::ListPlenarySessionsResponse {
            sessions: sessions.into_iter().map(plenary_to_proto).collect(),
        }))
    }
}

/// `xieshang.tenants.v1.UserService`.
pub struct UserApi(pub Store);

#[tonic::async_trait]
impl pb::user_service_server::UserService for UserApi {
    async fn create_user(&self, req: Request<pb::CreateUserRequest>) -> Reply<pb::CreateUserResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let u = r.user.as_ref().ok_or_else(|| xieshang_platform::status::invalid_argument("user", "is required"))?;
        let input = NewUser {
            committee_id: optional_committee_id("user.committee_id", &u.committee_id)?,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.clone(),
            password: (!r.password.is_empty()).then(|| r.password.clone()),
        };
        let (user, one_time_password) = self.0.create_user(ctx, input).await?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(user_to_proto(user)),
            one_time_password: one_time_password.unwrap_or_default(),
        }))
    }

    async fn get_user(&self, req: Request<pb::GetUserRequest>) -> Reply<pb::User> {
        let ctx = authenticated(&req)?;
        let id = UserId::parse("id", &req.get_ref().id)?;
        Ok(Response::new(user_to_proto(self.0.get_user(ctx, id).await?)))
    }

    async fn list_users(&self, req: Request<pb::ListUsersRequest>) -> Reply<pb::ListUsersResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let role = match Role::try_from(r.role) {
            Ok(Role::Unspecified) => None,
            Ok(role) => Some(role),
            Err(_) => {
                return Err(xieshang_platform::status::invalid_argument("role", format!("{} is not a role", r.role)));
            }
        };
        let filter = UserFilter {
            committee_id: optional_committee_id("committee_id", &r.committee_id)?,
            role,
            include_disabled: r.include_disabled,
            page_size: r.page_size,
            page_token: r.page_token.clone(),
        };
        let page = self.0.list_users(ctx, filter).await?;
        Ok(Response::new(pb::ListUsersResponse {
            users: page.items.into_iter().map(user_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_user(&self, req: Request<pb::UpdateUserRequest>) -> Reply<pb::User> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let u = r.user.as_ref().ok_or_else(|| xieshang_platform::status::invalid_argument("user", "is required"))?;
        let id = UserId::parse("user.id", &u.id)?;
        let paths = mask_paths(r.update_mask.as_ref(), &["display_name"])?;
        let display_name = paths.contains(&"display_name").then(|| u.display_name.clone());
        Ok(Response::new(user_to_proto(self.0.update_user(ctx, id, display_name, &u.etag).await?)))
    }

    async fn set_user_roles(&self, req: Request<pb::SetUserRolesRequest>) -> Reply<pb::User> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let id = UserId::parse("id", &r.id)?;
        Ok(Response::new(user_to_proto(self.0.set_user_roles(ctx, id, &r.roles, &r.etag).await?)))
    }

    async fn disable_user(&self, req: Request<pb::DisableUserRequest>) -> Reply<pb::User> {
        let ctx = authenticated(&req)?;
        let id = UserId::parse("id", &req.get_ref().id)?;
        Ok(Response::new(user_to_proto(self.0.set_user_disabled(ctx, id, true).await?)))
    }

    async fn enable_user(&self, req: Request<pb::EnableUserRequest>) -> Reply<pb::User> {
        let ctx = authenticated(&req)?;
        let id = UserId::parse("id", &req.get_ref().id)?;
        Ok(Response::new(user_to_proto(self.0.set_user_disabled(ctx, id, false).await?)))
    }

    async fn reset_password(&self, req: Request<pb::ResetPasswordRequest>) -> Reply<pb::ResetPasswordResponse> {
        let ctx = authenticated(&req)?;
        let id = UserId::parse("id", &req.get_ref().id)?;
        let one_time_password = self.0.reset_password(ctx, id).await?;
        Ok(Response::new(pb::ResetPasswordResponse { one_time_password }))
    }

    async fn change_password(&self, req: Request<pb::ChangePasswordRequest>) -> Reply<pb::ChangePasswordResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        self.0.change_password(ctx, &r.current_password, &r.new_password).await?;
        Ok(Response::new(pb::ChangePasswordResponse {}))
    }
}

/// `xieshang.tenants.v1.AuthService`.
pub struct AuthApi(pub Store);

#[tonic::async_trait]
impl pb::auth_service_server::AuthService for AuthApi {
    async fn login(&self, req: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        let method = rpc_method(&req);
        let r = req.into_inner();
        let outcome = self.0.login(method, &r.committee_code, &r.username, &r.password).await?;
        Ok(Response::new(login_to_proto(outcome)))
    }

    async fn refresh(&self, req: Request<pb::RefreshRequest>) -> Reply<pb::LoginResponse> {
        let outcome = self.0.refresh(&req.get_ref().refresh_token).await?;
        Ok(Response::new(login_to_proto(outcome)))
    }

    async fn logout(&self, req: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        let ctx = authenticated(&req)?;
        self.0.logout(ctx).await?;
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Reply<pb::WhoAmIResponse> {
        let ctx = authenticated(&req)?;
        let (user, committee) = self.0.who_am_i(ctx).await?;
        Ok(Response::new(pb::WhoAmIResponse {
            user: Some(user_to_proto(user)),
            committee: committee.map(committee_to_proto),
        }))
    }
}

/// `xieshang.tenants.v1.AuditService`.
pub struct AuditApi(pub Store);

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    async fn list_audit_entries(
        &self,
        req: Request<pb::ListAuditEntriesRequest>,
    ) -> Reply<pb::ListAuditEntriesResponse> {
        let ctx = authenticated(&req)?;
        let r = req.get_ref();
        let committee = optional_committee_id("committee_id", &r.committee_id)?;
        let page = self.0.list_audit_entries(ctx, committee, r.target_type.trim(), r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListAuditEntriesResponse {
            entries: page.items.into_iter().map(audit_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}
