//! Prometheus metrics: validations by result and how long they took,
//! sign-in decisions and answers, RADIUS counters, and the work each route's
//! requests cause.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DecisionLabel {
    pub decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: &'static str,
}

/// A kind of work one request caused, per route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkLabel {
    pub route: String,
    pub work: &'static str,
}

pub struct Metrics {
    registry: Registry,
    /// Reads, writes and password evaluations per route: equal per request
    /// for answers that must look alike (see `ichido_store::work`).
    pub work: Family<WorkLabel, Counter>,
    pub validations: Family<ResultLabel, Counter>,
    pub validation_seconds: Histogram,
    /// Sign-in decisions (accept, challenge, reject).
    pub signins: Family<DecisionLabel, Counter>,
    /// Answers to challenged sign-ins (accept, reject).
    pub signin_answers: Family<ResultLabel, Counter>,
    pub rate_limited: Counter,
    pub radius_requests: Family<ResultLabel, Counter>,
    pub radius_dropped: Family<ReasonLabel, Counter>,
    /// Set from the writer's health at each scrape.
    pub writer_up: Gauge,
    pub writer_restarts: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ichido");
        let validations = Family::<ResultLabel, Counter>::default();
        // 50 µs … ~1.6 s: the fast path is well under a millisecond.
        let validation_seconds = Histogram::new(exponential_buckets(0.00005, 2.0, 16));
        let rate_limited = Counter::default();
        registry.register(
            "validations",
            "Validations by result (accept, reject)",
            validations.clone(),
        );
        registry.register(
            "validation_duration_seconds",
            "Time to answer a validation",
            validation_seconds.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by the per-address rate limit",
            rate_limited.clone(),
        );
        let signins = Family::<DecisionLabel, Counter>::default();
        let signin_answers = Family::<ResultLabel, Counter>::default();
        registry.register(
            "signins",
            "Sign-in decisions (accept, challenge, reject)",
            signins.clone(),
        );
        registry.register(
            "signin_answers",
            "Answers to challenged sign-ins, by result (accept, reject)",
            signin_answers.clone(),
        );
        let radius_requests = Family::<ResultLabel, Counter>::default();
        let radius_dropped = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "radius_requests",
            "RADIUS requests answered, by result (accept, reject, challenge, retransmission, status_server)",
            radius_requests.clone(),
        );
        registry.register(
            "radius_dropped",
            "RADIUS packets dropped unanswered, by reason",
            radius_dropped.clone(),
        );
        let work = Family::<WorkLabel, Counter>::default();
        registry.register(
            "request_work",
            "Work caused by requests, by route and kind (reads, writes, password_hashes)",
            work.clone(),
        );
        let writer_up = Gauge::default();
        let writer_restarts = Gauge::default();
        registry.register(
            "database_writer_up",
            "1 while the group-commit writer runs, 0 from its death until its successor runs",
            writer_up.clone(),
        );
        registry.register(
            "database_writer_restarts",
            "Times the group-commit writer died and was started again since the process started",
            writer_restarts.clone(),
        );
        Metrics {
            registry,
            writer_up,
            writer_restarts,
            work,
            validations,
            validation_seconds,
            signins,
            signin_answers,
            rate_limited,
            radius_requests,
            radius_dropped,
        }
    }
}

impl Metrics {
    pub fn record_work(&self, route: &str, w: ichido_store::work::Work) {
        for (work, n) in [
            ("reads", w.reads),
            ("writes", w.writes),
            ("password_hashes", w.password_hashes),
        ] {
            self.work
                .get_or_create(&WorkLabel {
                    route: route.to_owned(),
                    work,
                })
                .inc_by(u64::from(n));
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
