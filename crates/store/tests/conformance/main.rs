//! One storage conformance suite, run on SQLite and on PostgreSQL: each
//! scenario is written once against the `Store` port and generated as
//! `sqlite::<scenario>` and `postgres::<scenario>`, so `cargo test sqlite::`
//! or `cargo test postgres::` runs one backend.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod audit_tamper;
mod schema;
mod signin;
mod throttle;
mod tokens;
mod two_step;
mod users;
mod validation;

/// `area::scenario(input) on shape;` — the input is a connected `db` or the
/// `url` of an empty database; the shape is SQLite's (`Memory` when the
/// scenario is sequential, `File` when it needs concurrency or a reopen).
macro_rules! on_both_backends {
    ($($area:ident::$scenario:ident($input:ident) on $shape:ident;)*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    crate::common::on_sqlite(crate::common::Sqlite::$shape, |url| async move {
                        crate::$area::$scenario(on_both_backends!(@$input url)).await
                    })
                    .await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    crate::common::on_postgres(|url| async move {
                        crate::$area::$scenario(on_both_backends!(@$input url)).await
                    })
                    .await;
                }
            )*
        }
    };
    (@db $url:ident) => { crate::common::connect(&$url).await };
    (@url $url:ident) => { $url };
}

on_both_backends! {
    throttle::concurrent_sends_pass_the_throttle_once(db) on File;
    throttle::the_first_code_to_another_token_is_not_a_resend(db) on Memory;
    throttle::a_failure_takes_an_attempt_from_each_named_challenge(db) on Memory;
    users::user_create_get_list_update_delete(db) on Memory;
    users::delete_user_revokes_and_unassigns_tokens(db) on File;
    users::api_keys_create_find_count(db) on Memory;
    users::a_revoked_api_key_is_not_found_but_still_listed(db) on Memory;
    validation::accept_advances_once_and_never_again(db) on Memory;
    validation::concurrent_accepts_of_one_counter_yield_exactly_one(db) on File;
    validation::accept_is_refused_for_a_token_not_active(db) on Memory;
    validation::failures_count_and_lock_at_the_limit(db) on File;
    validation::concurrent_failures_are_all_counted(db) on File;
    validation::a_refused_acceptance_keeps_the_failure_count(db) on Memory;
    tokens::token_state_transitions_are_conditional(db) on Memory;
    tokens::activate_only_pending_and_unexpired(db) on Memory;
    tokens::reseal_replaces_only_the_expected_value(db) on Memory;
    tokens::validity_is_stored_on_creation_and_replaced_whole(db) on Memory;
    two_step::a_pending_step_is_taken_once(db) on Memory;
    signin::concurrent_answers_take_a_pending_signin_once(db) on File;
    signin::a_device_secret_is_replaced_only_from_the_current_one(db) on Memory;
    signin::a_new_password_revokes_every_device(db) on Memory;
    signin::pruning_deletes_only_the_history_before_the_cutoff(db) on Memory;
    two_step::concurrent_takes_of_one_step_yield_exactly_one(db) on File;
    two_step::opening_a_step_clears_the_expired_ones(db) on Memory;
    audit::every_change_appends_one_chained_audit_event(db) on File;
    audit::concurrent_audit_appends_keep_the_chain_intact(db) on File;
    audit::concurrent_failed_changes_append_nothing(db) on File;
    audit::audit_events_filters_and_pages(db) on Memory;
    audit_tamper::deleting_the_tail_and_lowering_the_head_is_detected(url) on File;
    audit_tamper::rewriting_the_chain_with_plain_sha256_is_detected(url) on File;
    audit_tamper::truncation_below_a_checkpoint_is_detected_with_a_restored_head(url) on File;
    audit_tamper::a_checkpoint_of_another_history_is_detected(db) on Memory;
    audit_tamper::verify_during_appends_reports_intact(db) on File;
    audit_tamper::a_log_written_before_the_key_is_rekeyed_once(url) on File;
    audit_tamper::a_tampered_unkeyed_log_is_not_rekeyed(url) on File;
    schema::schema_migration_is_idempotent(url) on File;
    validation::two_nodes_accepting_the_same_codes_never_deadlock(url) on File;
}
