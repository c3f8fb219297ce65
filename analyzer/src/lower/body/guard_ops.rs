//! Operations on guards themselves (parking_lot, lock_api, spin, tokio, std's unstable mapped
//! guards): `MutexGuard::unlocked(&mut g, || ..)` releases the lock while the closure runs and
//! takes it again; `bump` gives it up for a moment; `map`/`try_map` hand the same lock to a
//! mapped guard; `upgrade`/`downgrade` keep the lock and change how it is held;
//! `unlock_fair(g)` releases it; `MutexGuard::mutex(&g)` names the lock.

use super::{strip_parens, BodyLowerer, Ext, Val};
use crate::ir::{AcqMethod, AcqStyle, GuardId, Mode, Op, Place};
use crate::source::Span;

/// What an operation on a guard does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GuardOp {
    /// Release while a closure runs (none for `bump`), then acquire again.
    Unlocked,
    /// A new guard of the same lock (the old one is consumed).
    Map,
    /// The same lock, held in another mode from now on.
    SetMode { mode: Mode, waits: bool },
    /// The lock is held in exclusive mode while the closure runs (`with_upgraded`).
    WithUpgraded,
    /// Consumes the guard and releases the lock.
    Release,
    /// The lock the guard holds (`MutexGuard::mutex(&g)`).
    LockOf,
}

/// Associated functions of guard types (`MutexGuard::unlocked`, `RwLockUpgradableReadGuard::
/// upgrade`, …).
fn guard_fn(name: &str) -> Option<GuardOp> {
    Some(match name {
        "unlocked" | "unlocked_fair" | "bump" | "bump_fair" => GuardOp::Unlocked,
        "map" | "try_map" | "filter_map" | "try_map_or_err" | "map_split" => GuardOp::Map,
        "upgrade" => GuardOp::SetMode {
            mode: Mode::Exclusive,
            waits: true,
        },
        "try_upgrade" | "try_upgrade_for" | "try_upgrade_until" => GuardOp::SetMode {
            mode: Mode::Exclusive,
            waits: false,
        },
        "downgrade" => GuardOp::SetMode {
            mode: Mode::Read,
            waits: false,
        },
        "downgrade_to_upgradable" | "downgrade_to_upgradeable" => GuardOp::SetMode {
            mode: Mode::Upgradable,
            waits: false,
        },
        "with_upgraded"
        | "try_with_upgraded"
        | "try_with_upgraded_for"
        | "try_with_upgraded_until" => GuardOp::WithUpgraded,
        "unlock_fair" => GuardOp::Release,
        "mutex" | "rwlock" | "remutex" => GuardOp::LockOf,
        _ => return None,
    })
}

/// Where a guard's lock was acquired: the place, the acquiring method, the mode, and whether
/// the call was unwrapped.
struct Origin {
    place: Place,
    method: AcqMethod,
    mode: Mode,
    unwrapped: bool,
}

impl BodyLowerer<'_> {
    /// `Guard::op(g, ..)` where the type's name ends with `Guard`.
    pub(super) fn guard_fn_call(
        &mut self,
        segs: &[String],
        c: &syn::ExprCall,
        span: Span,
    ) -> Option<Val> {
        if segs.len() < 2 || !segs[segs.len() - 2].ends_with("Guard") {
            return None;
        }
        let op = guard_fn(segs.last()?)?;
        let first = c.args.first()?;
        let mut arg = strip_parens(first);
        while let syn::Expr::Reference(r) = arg {
            arg = strip_parens(&r.expr);
        }
        let v = self.expr(arg, Ext::None);
        let rest: Vec<&syn::Expr> = c.args.iter().skip(1).collect();
        let at = self.span(&*c.func);
        Some(self.apply_guard_op(op, v, &rest, span, at))
    }

    /// `g.upgrade()`, `g.downgrade()`, `g.try_upgrade()`: methods of spin's and tokio's guards.
    /// Only on a guard whose acquisition makes the method one of the guard's own (an upgradable
    /// read for `upgrade`, a write or upgradable read for `downgrade`), not a method of the data
    /// behind it (`self.parent.lock().upgrade()` on a `Mutex<Weak<_>>`).
    pub(super) fn guard_method(
        &mut self,
        name: &str,
        recv: &Val,
        m: &syn::ExprMethodCall,
        span: Span,
    ) -> Option<Val> {
        if recv.guards.is_empty() || !m.args.is_empty() {
            return None;
        }
        let op = guard_fn(name)?;
        let GuardOp::SetMode { mode, .. } = op else {
            return None;
        };
        let from = recv
            .guards
            .iter()
            .filter_map(|&g| {
                let o = self.guard_origin(g)?;
                // A mode set since (a downgrade before this upgrade) counts over the original.
                let changed = self.nodes.iter().rev().find_map(|n| match n.op {
                    Op::SetMode { guard, mode, .. } if guard == g => Some(mode),
                    _ => None,
                });
                Some((changed.unwrap_or(o.mode), o.method))
            })
            .next()?;
        let fits = match mode {
            Mode::Exclusive => from.0 == Mode::Upgradable,
            Mode::Read => {
                matches!(from.0, Mode::Exclusive | Mode::Upgradable) && from.1.name != "lock"
            }
            Mode::Upgradable => from.0 == Mode::Exclusive && from.1.name != "lock",
        };
        if !fits {
            return None;
        }
        let at = self.span(&m.method);
        Some(self.apply_guard_op(op, recv.clone(), &[], span, at))
    }

    /// `span` is the whole call, `at` the function or method name: where the lock is taken
    /// again or changes mode.
    fn apply_guard_op(
        &mut self,
        op: GuardOp,
        v: Val,
        rest: &[&syn::Expr],
        span: Span,
        at: Span,
    ) -> Val {
        match op {
            GuardOp::Unlocked => {
                let origins: Vec<(GuardId, Origin)> = v
                    .guards
                    .iter()
                    .filter_map(|&g| self.guard_origin(g).map(|o| (g, o)))
                    .collect();
                for (g, _) in &origins {
                    self.emit(Op::Release {
                        guard: *g,
                        span,
                        explicit: true,
                    });
                }
                self.guard_op_closures(rest, span);
                for (g, o) in origins {
                    self.emit(Op::Acquire {
                        place: Box::new(o.place),
                        method: o.method,
                        style: AcqStyle::Guard,
                        mode: o.mode,
                        is_try: false,
                        guard: Some(g),
                        unwrapped: o.unwrapped,
                        span: at,
                    });
                }
                self.settle(&v, false);
                Val::default()
            }
            GuardOp::Map | GuardOp::SetMode { .. } => {
                let guards = self.take_ownership(&v, span);
                if let GuardOp::SetMode { mode, waits } = op {
                    for &g in &guards {
                        self.emit(Op::SetMode {
                            guard: g,
                            mode,
                            waits,
                            span: at,
                        });
                    }
                }
                // `map`'s closure runs now, with the lock held.
                self.guard_op_closures(rest, span);
                Val {
                    fresh: !guards.is_empty(),
                    guards,
                    place: v.place,
                    ..Val::default()
                }
            }
            GuardOp::WithUpgraded => {
                for &g in &v.guards {
                    self.emit(Op::SetMode {
                        guard: g,
                        mode: Mode::Exclusive,
                        waits: true,
                        span: at,
                    });
                }
                self.guard_op_closures(rest, span);
                for &g in &v.guards {
                    self.emit(Op::SetMode {
                        guard: g,
                        mode: Mode::Upgradable,
                        waits: false,
                        span,
                    });
                }
                self.settle(&v, false);
                Val::default()
            }
            GuardOp::Release => {
                for &g in &v.guards {
                    self.emit(Op::Release {
                        guard: g,
                        span,
                        explicit: true,
                    });
                }
                Val::default()
            }
            GuardOp::LockOf => {
                let place = v.guards.first().and_then(|&g| self.guard_place(g));
                self.settle(&v, false);
                Val {
                    place,
                    ..Val::default()
                }
            }
        }
    }

    /// The other arguments of a guard operation: closures run here and now.
    fn guard_op_closures(&mut self, rest: &[&syn::Expr], span: Span) {
        for a in rest {
            let cv = self.expr(a, Ext::None);
            match cv.closure.clone() {
                Some(cl) => self.inline_closure(&cl, span),
                None => self.settle(&cv, false),
            }
        }
    }

    /// The place of the lock a guard holds: its acquisition, through the transfers since.
    pub(super) fn guard_place(&self, g: GuardId) -> Option<Place> {
        self.guard_origin(g).map(|o| o.place)
    }

    /// The acquisition a guard's lock comes from, through the moves since.
    fn guard_origin(&self, mut g: GuardId) -> Option<Origin> {
        for _ in 0..64 {
            let mut from = None;
            for n in &self.nodes {
                match &n.op {
                    Op::Acquire {
                        place,
                        method,
                        mode,
                        guard: Some(a),
                        unwrapped,
                        ..
                    } if *a == g => {
                        return Some(Origin {
                            place: (**place).clone(),
                            method: method.clone(),
                            mode: *mode,
                            unwrapped: *unwrapped,
                        })
                    }
                    Op::Transfer { from: f, to, .. } if *to == g && from.is_none() => {
                        from = Some(*f)
                    }
                    _ => {}
                }
            }
            g = from?;
        }
        None
    }
}
