//! The placement decision as a sans-IO core: given a pool's rules and the state of its
//! hosts (capacity, live sessions, logons in progress, the last load report, state, health,
//! service window), decide where a launch goes. [`super`] reads that state from the
//! database inside the launch's transaction and acts on the decision; everything that can
//! be wrong about *which* host lives here, where unit and property tests reach it.
//!
//! - The user's live session is reused whenever its host is not unhealthy (roaming).
//! - A new session goes only to a host that is `active`, not unhealthy, not in an active
//!   service window, and has a free seat; a host at its logon-storm limit is skipped.
//! - Load is the weighted mean of sessions over capacity, CPU and memory (the latter two
//!   only from a load report younger than the pool's maximum age). Breadth-first takes the
//!   lowest load, depth-first the highest; ties are broken by the caller's random number.

use uuid::Uuid;

use crate::model::{HostHealth, HostState, PoolStrategy};

/// One full unit of load: a host at capacity, or at 100 % CPU or memory.
pub const FULL_LOAD: u64 = 1_000_000;

/// Basis points (hundredths of a percent) in 100 %.
pub const FULL_BP: u32 = 10_000;

/// How long a refused launch waits before trying again when every host with room is busy
/// logging users on. Logons take seconds; this is long enough for a few to finish.
pub const LOGON_STORM_RETRY_AFTER_S: u32 = 10;

/// Weights of the three load terms, each 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub sessions: u32,
    pub cpu: u32,
    pub memory: u32,
}

/// A pool's placement rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub strategy: PoolStrategy,
    pub weights: Weights,
    /// Most logons in progress (sessions in `launching`) per host; 0: no limit.
    pub max_logons_per_host: u32,
    /// A load report older than this (milliseconds) is ignored.
    pub report_max_age_ms: i64,
}

/// What a host's agent last reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sessions: u32,
    pub cpu_bp: u32,
    pub memory_bp: u32,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// A host as placement sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostView {
    pub id: Uuid,
    pub capacity: u32,
    /// Sessions on the host in `launching`, `active` or `disconnected` (seats held).
    pub sessions: u32,
    /// Of those, the ones in `launching`: logons in progress.
    pub logons: u32,
    pub state: HostState,
    pub health: HostHealth,
    /// Set by the service-window code while a window of the host's environment is active;
    /// such a host takes no new sessions.
    pub in_service_window: bool,
    pub report: Option<Report>,
}

/// The user's live session for the app, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing {
    pub session_id: Uuid,
    pub host_id: Uuid,
    pub host_health: HostHealth,
}

/// Where the launch goes, or why nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Reattach the user's live session.
    Reuse { session_id: Uuid, host_id: Uuid },
    /// A new session on this host.
    New { host_id: Uuid },
    /// Hosts have free seats but every one is at its logon-storm limit.
    LogonStorm { retry_after_s: u32 },
    /// No host can take a session.
    Full,
}

impl Rules {
    /// The fresh report of `host` at `now_ms`, if any.
    fn fresh(&self, host: &HostView, now_ms: i64) -> Option<Report> {
        host.report
            .filter(|r| now_ms.saturating_sub(r.at_ms) <= self.report_max_age_ms)
    }
}

impl HostView {
    /// Whether the host may take a new session at all (capacity aside).
    pub fn accepts_new(&self) -> bool {
        self.state == HostState::Active
            && self.health != HostHealth::Unhealthy
            && !self.in_service_window
    }

    /// Seats taken: the broker's count, or the agent's fresh count when it sees more
    /// (sessions logged on outside Hamn hold seats too).
    pub fn seats_taken(&self, rules: &Rules, now_ms: i64) -> u32 {
        let reported = rules.fresh(self, now_ms).map_or(0, |r| r.sessions);
        self.sessions.max(reported)
    }

    pub fn has_room(&self, rules: &Rules, now_ms: i64) -> bool {
        self.seats_taken(rules, now_ms) < self.capacity
    }

    /// At the pool's logon-storm limit.
    pub fn storming(&self, rules: &Rules) -> bool {
        rules.max_logons_per_host > 0 && self.logons >= rules.max_logons_per_host
    }
}

/// The host's load in millionths of [`FULL_LOAD`]: the weighted mean of the terms it has.
/// A host without a fresh report is judged on sessions alone; with every weight zero, on
/// sessions alone too (something has to order the hosts).
pub fn load(rules: &Rules, host: &HostView, now_ms: i64) -> u64 {
    let sessions = if host.capacity == 0 {
        FULL_LOAD
    } else {
        u64::from(host.seats_taken(rules, now_ms)) * FULL_LOAD / u64::from(host.capacity)
    };
    let w = rules.weights;
    let mut sum = u64::from(w.sessions) * sessions;
    let mut weights = u64::from(w.sessions);
    if let Some(r) = rules.fresh(host, now_ms) {
        let bp = |v: u32| u64::from(v.min(FULL_BP)) * FULL_LOAD / u64::from(FULL_BP);
        sum += u64::from(w.cpu) * bp(r.cpu_bp) + u64::from(w.memory) * bp(r.memory_bp);
        weights += u64::from(w.cpu) + u64::from(w.memory);
    }
    sum.checked_div(weights).unwrap_or(sessions)
}

/// The first rule of [`decide`] alone: the user's live session is reused unless its host
/// is unhealthy. Placement asks this before it reads the pool, which a reuse never needs.
pub fn reuse(existing: Option<Existing>) -> Option<Decision> {
    existing
        .filter(|e| e.host_health != HostHealth::Unhealthy)
        .map(|e| Decision::Reuse {
            session_id: e.session_id,
            host_id: e.host_id,
        })
}

/// Decides a launch. `tie` is a random number that picks among equally loaded hosts.
pub fn decide(
    rules: &Rules,
    now_ms: i64,
    existing: Option<Existing>,
    hosts: &[HostView],
    tie: u32,
) -> Decision {
    if let Some(reused) = reuse(existing) {
        return reused;
    }
    let with_room: Vec<&HostView> = hosts
        .iter()
        .filter(|h| h.accepts_new() && h.has_room(rules, now_ms))
        .collect();
    if with_room.is_empty() {
        return Decision::Full;
    }
    let candidates: Vec<(Uuid, u64)> = with_room
        .iter()
        .filter(|h| !h.storming(rules))
        .map(|h| (h.id, load(rules, h, now_ms)))
        .collect();
    let best = match rules.strategy {
        PoolStrategy::BreadthFirst => candidates.iter().map(|c| c.1).min(),
        PoolStrategy::DepthFirst => candidates.iter().map(|c| c.1).max(),
    };
    let Some(best) = best else {
        return Decision::LogonStorm {
            retry_after_s: LOGON_STORM_RETRY_AFTER_S,
        };
    };
    let equal: Vec<Uuid> = candidates
        .iter()
        .filter(|c| c.1 == best)
        .map(|c| c.0)
        .collect();
    match equal.get(tie as usize % equal.len().max(1)) {
        Some(&host_id) => Decision::New { host_id },
        None => Decision::Full,
    }
}

/// A pool's seats, for the capacity alarm and the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seats {
    /// Capacity of every host of the pool.
    pub total: u64,
    /// Capacity of the hosts that take new sessions (active, not unhealthy, no window).
    pub usable: u64,
    /// Seats taken on those hosts.
    pub used: u64,
    /// `usable - used`.
    pub free: u64,
    /// Seats taken on every host (drained ones too).
    pub used_total: u64,
}

/// Counts the pool's seats.
pub fn seats(rules: &Rules, hosts: &[HostView], now_ms: i64) -> Seats {
    let mut s = Seats::default();
    for h in hosts {
        let taken = u64::from(h.seats_taken(rules, now_ms));
        s.total += u64::from(h.capacity);
        s.used_total += taken;
        if h.accepts_new() {
            s.usable += u64::from(h.capacity);
            s.used += taken.min(u64::from(h.capacity));
        }
    }
    s.free = s.usable - s.used;
    s
}

/// Thresholds of the capacity alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alarm {
    /// Rings when free seats are under this percentage of the usable capacity.
    pub percent: Option<u32>,
    /// Rings when fewer seats than this are free.
    pub seats: Option<u32>,
}

impl Alarm {
    /// Whether free capacity is under a threshold. A pool with no usable capacity is low
    /// whenever a threshold is set.
    pub fn is_low(&self, s: &Seats) -> bool {
        let by_percent = self
            .percent
            .is_some_and(|p| s.free * 100 < u64::from(p) * s.usable || s.usable == 0);
        let by_seats = self.seats.is_some_and(|n| s.free < u64::from(n));
        by_percent || by_seats
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn rules(strategy: PoolStrategy) -> Rules {
        Rules {
            strategy,
            weights: Weights {
                sessions: 60,
                cpu: 25,
                memory: 15,
            },
            max_logons_per_host: 0,
            report_max_age_ms: 120_000,
        }
    }

    fn host(n: u128, sessions: u32, capacity: u32) -> HostView {
        HostView {
            id: Uuid::from_u128(n),
            capacity,
            sessions,
            logons: 0,
            state: HostState::Active,
            health: HostHealth::Healthy,
            in_service_window: false,
            report: None,
        }
    }

    fn new_on(d: Decision) -> Option<u128> {
        match d {
            Decision::New { host_id } => Some(host_id.as_u128()),
            _ => None,
        }
    }

    #[test]
    fn breadth_first_spreads_and_depth_first_fills() {
        let hosts = [host(1, 2, 10), host(2, 1, 10), host(3, 5, 10)];
        let b = rules(PoolStrategy::BreadthFirst);
        let d = rules(PoolStrategy::DepthFirst);
        assert_eq!(new_on(decide(&b, NOW, None, &hosts, 0)), Some(2));
        assert_eq!(new_on(decide(&d, NOW, None, &hosts, 0)), Some(3));
        // Load is relative to capacity: 3 of 30 is lighter than 1 of 5.
        let mixed = [host(1, 1, 5), host(2, 3, 30)];
        assert_eq!(new_on(decide(&b, NOW, None, &mixed, 0)), Some(2));
        assert_eq!(decide(&b, NOW, None, &[], 0), Decision::Full);
    }

    #[test]
    fn ties_are_broken_by_the_random_number() {
        let hosts = [host(1, 0, 4), host(2, 0, 4), host(3, 1, 4)];
        let r = rules(PoolStrategy::BreadthFirst);
        let chosen: std::collections::BTreeSet<_> = (0..4)
            .filter_map(|tie| new_on(decide(&r, NOW, None, &hosts, tie)))
            .collect();
        assert_eq!(chosen, [1, 2].into_iter().collect());
    }

    #[test]
    fn a_fresh_report_of_a_busy_cpu_moves_sessions_elsewhere() {
        let r = rules(PoolStrategy::BreadthFirst);
        let mut busy = host(1, 1, 10);
        busy.report = Some(Report {
            sessions: 1,
            cpu_bp: 9_500,
            memory_bp: 8_000,
            at_ms: NOW - 5_000,
        });
        let mut calm = host(2, 2, 10);
        calm.report = Some(Report {
            sessions: 2,
            cpu_bp: 500,
            memory_bp: 1_000,
            at_ms: NOW - 5_000,
        });
        assert_eq!(new_on(decide(&r, NOW, None, &[busy, calm], 0)), Some(2));
        // The same report, too old: sessions alone decide again.
        busy.report = busy.report.map(|rep| Report {
            at_ms: NOW - 121_000,
            ..rep
        });
        calm.report = None;
        assert_eq!(new_on(decide(&r, NOW, None, &[busy, calm], 0)), Some(1));
        // An agent that sees more sessions than the broker fills the host sooner.
        let mut crowded = host(3, 0, 2);
        crowded.report = Some(Report {
            sessions: 2,
            cpu_bp: 0,
            memory_bp: 0,
            at_ms: NOW,
        });
        assert_eq!(decide(&r, NOW, None, &[crowded], 0), Decision::Full);
    }

    #[test]
    fn drained_maintained_unhealthy_and_windowed_hosts_take_nothing_new() {
        let r = rules(PoolStrategy::BreadthFirst);
        let mut drain = host(1, 0, 10);
        drain.state = HostState::Drain;
        let mut maint = host(2, 0, 10);
        maint.state = HostState::Maintenance;
        let mut sick = host(3, 0, 10);
        sick.health = HostHealth::Unhealthy;
        let mut window = host(4, 0, 10);
        window.in_service_window = true;
        let mut unknown = host(5, 9, 10);
        unknown.health = HostHealth::Unknown;
        let hosts = [drain, maint, sick, window, unknown];
        assert_eq!(new_on(decide(&r, NOW, None, &hosts, 7)), Some(5));
        assert_eq!(decide(&r, NOW, None, &hosts[..4], 7), Decision::Full);
    }

    #[test]
    fn the_storm_limit_skips_busy_hosts_and_refuses_when_all_are() {
        let mut r = rules(PoolStrategy::BreadthFirst);
        r.max_logons_per_host = 2;
        let mut a = host(1, 2, 10);
        a.logons = 2;
        let mut b = host(2, 5, 10);
        b.logons = 1;
        assert_eq!(new_on(decide(&r, NOW, None, &[a, b], 0)), Some(2));
        b.logons = 2;
        assert_eq!(
            decide(&r, NOW, None, &[a, b], 0),
            Decision::LogonStorm {
                retry_after_s: LOGON_STORM_RETRY_AFTER_S
            }
        );
        // A full host is full, not storming.
        let mut full = host(3, 10, 10);
        full.logons = 2;
        assert_eq!(decide(&r, NOW, None, &[full], 0), Decision::Full);
        r.max_logons_per_host = 0;
        assert!(matches!(
            decide(&r, NOW, None, &[a, b], 0),
            Decision::New { .. }
        ));
    }

    #[test]
    fn reuse_wins_unless_the_host_is_unhealthy() {
        let r = rules(PoolStrategy::BreadthFirst);
        let mut existing = Existing {
            session_id: Uuid::from_u128(99),
            host_id: Uuid::from_u128(1),
            host_health: HostHealth::Healthy,
        };
        let hosts = [host(2, 0, 10)];
        assert_eq!(
            decide(&r, NOW, Some(existing), &hosts, 0),
            Decision::Reuse {
                session_id: Uuid::from_u128(99),
                host_id: Uuid::from_u128(1)
            }
        );
        existing.host_health = HostHealth::Unhealthy;
        assert_eq!(new_on(decide(&r, NOW, Some(existing), &hosts, 0)), Some(2));
    }

    #[test]
    fn seats_and_the_capacity_alarm() {
        let r = rules(PoolStrategy::BreadthFirst);
        let mut drained = host(3, 4, 10);
        drained.state = HostState::Drain;
        let hosts = [host(1, 9, 10), host(2, 8, 10), drained];
        let s = seats(&r, &hosts, NOW);
        assert_eq!(
            s,
            Seats {
                total: 30,
                usable: 20,
                used: 17,
                free: 3,
                used_total: 21
            }
        );
        let percent = Alarm {
            percent: Some(20),
            seats: None,
        };
        assert!(percent.is_low(&s), "3 of 20 is 15 %");
        assert!(
            !Alarm {
                percent: Some(15),
                seats: None
            }
            .is_low(&s)
        );
        assert!(
            Alarm {
                percent: None,
                seats: Some(4)
            }
            .is_low(&s)
        );
        assert!(!Alarm::default().is_low(&s));
        assert!(
            percent.is_low(&seats(&r, &[drained], NOW)),
            "nothing usable"
        );
    }

    fn arb_host(i: usize) -> impl Strategy<Value = HostView> {
        (
            0u32..12,
            0u32..12,
            0u32..6,
            prop::sample::select(HostState::ALL.to_vec()),
            prop::sample::select(HostHealth::ALL.to_vec()),
            any::<bool>(),
            prop::option::of((0u32..14, 0u32..=10_000, 0u32..=10_000, 0i64..300_000)),
        )
            .prop_map(
                move |(capacity, sessions, logons, state, health, window, report)| HostView {
                    id: Uuid::from_u128(i as u128 + 1),
                    capacity,
                    sessions,
                    logons: logons.min(sessions),
                    state,
                    health,
                    in_service_window: window,
                    report: report.map(|(s, c, m, age)| Report {
                        sessions: s,
                        cpu_bp: c,
                        memory_bp: m,
                        at_ms: NOW - age,
                    }),
                },
            )
    }

    fn arb_hosts() -> impl Strategy<Value = Vec<HostView>> {
        (0usize..10).prop_flat_map(|n| (0..n).map(arb_host).collect::<Vec<_>>())
    }

    fn arb_rules() -> impl Strategy<Value = Rules> {
        (any::<bool>(), 0u32..=100, 0u32..=100, 0u32..=100, 0u32..4).prop_map(
            |(depth, s, c, m, storm)| Rules {
                strategy: if depth {
                    PoolStrategy::DepthFirst
                } else {
                    PoolStrategy::BreadthFirst
                },
                weights: Weights {
                    sessions: s,
                    cpu: c,
                    memory: m,
                },
                max_logons_per_host: storm,
                report_max_age_ms: 120_000,
            },
        )
    }

    proptest! {
        /// A new session never lands on a drained, maintained, unhealthy or windowed host,
        /// never on a full one, never on one at its storm limit, and no other eligible host
        /// beats the choice by the strategy.
        #[test]
        fn a_new_session_goes_only_where_it_may(
            r in arb_rules(), hosts in arb_hosts(), tie in any::<u32>(),
        ) {
            match decide(&r, NOW, None, &hosts, tie) {
                Decision::New { host_id } => {
                    let h = hosts.iter().find(|h| h.id == host_id).expect("one of the pool");
                    prop_assert_eq!(h.state, HostState::Active);
                    prop_assert_ne!(h.health, HostHealth::Unhealthy);
                    prop_assert!(!h.in_service_window);
                    prop_assert!(h.sessions < h.capacity, "over capacity: {:?}", h);
                    prop_assert!(h.seats_taken(&r, NOW) < h.capacity);
                    prop_assert!(!h.storming(&r), "storm limit: {:?}", h);
                    let mine = load(&r, h, NOW);
                    for o in hosts.iter().filter(|o| o.accepts_new() && o.has_room(&r, NOW) && !o.storming(&r)) {
                        let theirs = load(&r, o, NOW);
                        let beaten = match r.strategy {
                            PoolStrategy::BreadthFirst => theirs < mine,
                            PoolStrategy::DepthFirst => theirs > mine,
                        };
                        prop_assert!(!beaten, "{:?} beats {:?}", o, h);
                    }
                }
                Decision::LogonStorm { .. } => {
                    let open: Vec<_> = hosts.iter().filter(|h| h.accepts_new() && h.has_room(&r, NOW)).collect();
                    prop_assert!(!open.is_empty());
                    prop_assert!(open.iter().all(|h| h.storming(&r)));
                }
                Decision::Full => {
                    prop_assert!(!hosts.iter().any(|h| h.accepts_new() && h.has_room(&r, NOW)));
                }
                Decision::Reuse { .. } => prop_assert!(false, "no session to reuse"),
            }
        }

        /// The user's live session always wins over a new one unless its host is unhealthy,
        /// whatever the pool looks like (even a full or storming one).
        #[test]
        fn reuse_always_wins(
            r in arb_rules(), hosts in arb_hosts(), tie in any::<u32>(),
            health in prop::sample::select(HostHealth::ALL.to_vec()),
        ) {
            let e = Existing { session_id: Uuid::from_u128(1000), host_id: Uuid::from_u128(1), host_health: health };
            let d = decide(&r, NOW, Some(e), &hosts, tie);
            if health == HostHealth::Unhealthy {
                let reused = matches!(d, Decision::Reuse { .. });
                prop_assert!(!reused);
            } else {
                prop_assert_eq!(d, Decision::Reuse { session_id: e.session_id, host_id: e.host_id });
            }
        }

        /// Placing sessions one after another (each a logon in progress) never overfills a
        /// host nor exceeds the storm limit, and stops exactly when nothing may take more.
        #[test]
        fn repeated_placement_respects_capacity_and_the_storm_limit(
            r in arb_rules(), mut hosts in arb_hosts(), ties in prop::collection::vec(any::<u32>(), 40),
        ) {
            for h in &mut hosts {
                h.sessions = h.sessions.min(h.capacity);
                h.logons = h.logons.min(h.sessions);
                h.report = None;
            }
            for tie in ties {
                match decide(&r, NOW, None, &hosts, tie) {
                    Decision::New { host_id } => {
                        let h = hosts.iter_mut().find(|h| h.id == host_id).expect("known");
                        h.sessions += 1;
                        h.logons += 1;
                        prop_assert!(h.sessions <= h.capacity);
                        prop_assert!(r.max_logons_per_host == 0 || h.logons <= r.max_logons_per_host);
                    }
                    Decision::Full | Decision::LogonStorm { .. } => break,
                    Decision::Reuse { .. } => prop_assert!(false),
                }
            }
        }

        /// Free seats never exceed usable capacity and the alarm agrees with its thresholds.
        #[test]
        fn seats_add_up(r in arb_rules(), hosts in arb_hosts(), p in prop::option::of(0u32..=100), n in prop::option::of(0u32..20)) {
            let s = seats(&r, &hosts, NOW);
            prop_assert_eq!(s.free + s.used, s.usable);
            prop_assert!(s.usable <= s.total);
            let alarm = Alarm { percent: p, seats: n };
            if p.is_none() && n.is_none() {
                prop_assert!(!alarm.is_low(&s));
            }
            if let Some(n) = n && s.free < u64::from(n) {
                prop_assert!(alarm.is_low(&s));
            }
        }
    }
}
