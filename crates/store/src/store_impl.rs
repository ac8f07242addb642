use ichido_domain::Timestamp;
use ichido_domain::audit::{Event, Query, Record};
use ichido_domain::store::{Acceptance, Failure, FailureOutcome, Result, SealedRow, Store};
use ichido_domain::token::{NewToken, Token, TokenState};
use ichido_domain::user::{ApiKey, NewUser, Role, User, UserPatch};

use crate::{Db, api_keys, audit, backend_err, challenges, tokens, users, validation};
use ichido_domain::challenge::{Challenge, Consume, NewChallenge, ResendLimit, ResendStats};

impl Store for Db {
    async fn create_user(&self, user: &NewUser, now: Timestamp, ev: &Event) -> Result<User> {
        users::create(self, user, now, ev).await
    }
    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        users::by_name(self, username).await
    }
    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        users::by_id(self, id).await
    }
    async fn list_users(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<User>> {
        users::list(self, query, after, limit).await
    }
    async fn update_user(
        &self,
        id: i64,
        patch: &UserPatch,
        now: Timestamp,
        ev: &Event,
    ) -> Result<User> {
        users::update(self, id, patch, now, ev).await
    }
    async fn delete_user(&self, id: i64, _now: Timestamp, ev: &Event) -> Result<()> {
        users::delete(self, id, ev).await
    }
    async fn unlock_user(&self, id: i64, now: Timestamp, ev: &Event) -> Result<()> {
        users::unlock(self, id, now, ev).await
    }

    async fn create_token(&self, token: &NewToken, now: Timestamp, ev: &Event) -> Result<Token> {
        tokens::create(self, token, now, ev).await
    }
    async fn token_by_serial(&self, serial: &str) -> Result<Option<Token>> {
        tokens::by_serial(self, serial).await
    }
    async fn tokens_of_user(&self, user_id: i64) -> Result<Vec<Token>> {
        tokens::of_user(self, user_id, false).await
    }
    async fn active_tokens(&self, user_id: i64) -> Result<Vec<Token>> {
        tokens::of_user(self, user_id, true).await
    }
    async fn activate_token(&self, acc: &Acceptance, ev: &Event) -> Result<bool> {
        tokens::activate(self, acc, ev).await
    }
    async fn set_token_state(
        &self,
        token_id: i64,
        from: &[TokenState],
        to: TokenState,
        _now: Timestamp,
        ev: &Event,
    ) -> Result<bool> {
        tokens::set_state(self, token_id, from, to, ev).await
    }
    async fn set_token_label(&self, token_id: i64, label: Option<&str>, ev: &Event) -> Result<()> {
        tokens::set_label(self, token_id, label, ev).await
    }
    async fn resync_token(&self, acc: &Acceptance, ev: &Event) -> Result<bool> {
        tokens::resync(self, acc, ev).await
    }

    async fn accept(&self, acc: &Acceptance, ev: &Event) -> Result<bool> {
        validation::accept(self, acc, ev).await
    }
    async fn record_failure(&self, f: &Failure, ev: &Event) -> Result<FailureOutcome> {
        validation::record_failure(self, f, ev).await
    }

    async fn sealed_secrets(&self) -> Result<Vec<SealedRow>> {
        tokens::sealed(self).await
    }
    async fn reseal(&self, token_id: i64, old: &str, new: &str) -> Result<bool> {
        tokens::reseal(self, token_id, old, new).await
    }

    async fn create_api_key(
        &self,
        name: &str,
        role: Role,
        key_hash: &str,
        now: Timestamp,
        ev: &Event,
    ) -> Result<ApiKey> {
        api_keys::create(self, name, role, key_hash, now, ev).await
    }
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        api_keys::by_hash(self, key_hash).await
    }
    async fn count_api_keys(&self) -> Result<i64> {
        api_keys::count(self).await
    }

    async fn append_audit(&self, ev: &Event) -> Result<()> {
        let ev = ev.clone();
        self.write(move |c| Box::pin(async move { audit::append(c, &ev).await }))
            .await
    }
    async fn audit_events(&self, q: &Query) -> Result<Vec<Record>> {
        audit::events(self.reader(), q).await
    }
    async fn audit_scan(&self, after_seq: i64, limit: i64) -> Result<Vec<Record>> {
        audit::scan(self.reader(), after_seq, limit).await
    }
    async fn audit_head(&self) -> Result<(i64, String)> {
        audit::head(self.reader()).await
    }

    async fn create_challenges(
        &self,
        rows: &[NewChallenge],
        evs: &[Event],
        limit: Option<&ResendLimit>,
        refused: &Event,
    ) -> Result<Option<Timestamp>> {
        challenges::create(self, rows, evs, limit, refused).await
    }
    async fn challenge(&self, id: &str) -> Result<Vec<Challenge>> {
        challenges::by_id(self, id).await
    }
    async fn open_challenges(&self, user_id: i64, now: Timestamp) -> Result<Vec<Challenge>> {
        challenges::open(self, user_id, now).await
    }
    async fn consume_challenge(&self, c: &Consume, evs: &[Event]) -> Result<bool> {
        challenges::consume(self, c, evs).await
    }
    async fn challenge_attempt(&self, ids: &[String]) -> Result<()> {
        challenges::attempt(self, ids).await
    }
    async fn resend_stats(
        &self,
        user_id: i64,
        tokens: &[i64],
        since: Timestamp,
    ) -> Result<ResendStats> {
        challenges::resend_stats(self, user_id, tokens, since).await
    }

    async fn notice_cursor(&self) -> Result<i64> {
        challenges::notice_cursor(self).await
    }
    async fn advance_notice_cursor(&self, from: i64, to: i64) -> Result<bool> {
        challenges::advance_notice_cursor(self, from, to).await
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(self.reader())
            .await
            .map_err(backend_err)?;
        Ok(())
    }
}
