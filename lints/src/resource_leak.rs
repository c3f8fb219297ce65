use lockstep_analyzer::{Diagnostic, Label};

use crate::util::{line_of, short_class};
use crate::{Lint, LintContext, LintMeta};

declare_lint! {
    /// ## What it does
    /// Finds a counted resource taken and, on some path out of the function, neither given back
    /// nor handed off: a send credit (`credits -= 1`, `fetch_sub(1)`), an in-flight count
    /// (`pending.fetch_add(1)`), or a take/give pair from the configuration
    /// (`[[resource_pair]]`). Handing off means the path passes the packet (a parameter of the
    /// function, not of a scalar type such as a flow hash or a length) to a call — the miniport,
    /// a queue, a completion — so the completion routine can give the credit back later, as a
    /// correct NDIS send path does.
    ///
    /// Only counters the analyzed code moves in both directions are resources: a statistics
    /// counter that only grows is not. A function that takes on every path (a `take_credit`
    /// helper) is not reported; its callers are responsible.
    ///
    /// ## Why is this bad?
    /// Every leaked credit makes the pool smaller. Under load it reaches zero and the driver
    /// stops sending: KB Q228942, where NDIS believed the load-balancing driver was out of
    /// resources and stopped sending its packets.
    ///
    /// ## Known problems
    /// Only moves by one are tracked. A packet stored into a field or static
    /// (`self.slot = Some(pkt)`) is a hand-off, but not one first moved into a local that is
    /// then stored (`let s = Some(pkt); self.slot = s;`). Assigning the place again
    /// (`self.slot = None`) drops what was stored. A place the function itself clears on
    /// another path and that is followed by a hand-off call (a descriptor ring's token slot,
    /// then the post) is staging, not a hand-off: only the call hands the packet off, so a
    /// slot that is both cleared on one path and kept as the final hand-off on another, with a
    /// hand-off call after the store, is reported. A local tally (`count += 1` in one loop,
    /// `count -= 1` in the next, or only when a flag says the work was not sent to a pool) is
    /// taken for a counted resource, and the exits between the two loops are reported. A
    /// counter lent by reference to a call (`Protector::None(&self.active)`, a guard struct
    /// whose `Drop` moves it back) is handed off to that call's result.
    ///
    /// ## Example
    /// ```rust,ignore
    /// self.credits.fetch_sub(1, Ordering::AcqRel);
    /// if self.filter.drops(&packet) {
    ///     return; // the credit is gone for good
    /// }
    /// self.miniport.send(packet); // completion gives it back
    /// ```
    /// Use instead: give the credit back on the filtered path.
    pub RESOURCE_LEAK, "resource_leak", Warn, "a counted resource is not given back on some path"
}

pub struct ResourceLeak;

impl Lint for ResourceLeak {
    fn meta(&self) -> &'static LintMeta {
        &RESOURCE_LEAK
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
        for leak in &cx.analysis.resource_leaks {
            let f = cx.analysis.func(cx.analysis.flows[leak.flow].func);
            let name = short_class(leak.counter.trim_start_matches("pair:"));
            let total = leak.leaking_exits.len() + leak.ok_exits.len();
            let mut d = Diagnostic::new(
                RESOURCE_LEAK.name,
                RESOURCE_LEAK.default_level,
                format!(
                    "`{name}` taken here is neither given back nor handed off on {} of {total} paths out of `{}`",
                    leak.leaking_exits.len(),
                    f.name
                ),
                Label::new(leak.take, "resource taken here"),
            );
            for e in &leak.leaking_exits {
                d = d.with_label(*e, "leaves here without giving it back");
            }
            if let Some((_, site)) = leak.ok_exits.first() {
                d = d.with_label(*site, "given back or handed off here on the other paths");
            }
            let leaking: Vec<String> = leak
                .leaking_exits
                .iter()
                .map(|s| line_of(cx.db, *s))
                .collect();
            out.push(
                d.with_note(format!("leaks on: {}", leaking.join(", ")))
                    .with_help("give the resource back (or hand the packet on) before every return")
                    .with_key(format!("resource_leak:{}:{}", f.path, leak.counter)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_message, Tester};

    /// A load-balancing filter in front of a miniport.
    macro_rules! filter {
        () => {
            "use std::sync::atomic::{AtomicU32, Ordering};\n\
             pub struct Packet(pub Vec<u8>);\n\
             pub struct Refused;\n\
             pub struct Miniport;\n\
             impl Miniport {\n\
                 pub fn send(&self, _p: Packet) {}\n\
                 pub fn try_send(&self, _p: Packet) -> Result<(), Refused> { Ok(()) }\n\
             }\n\
             pub struct Filter { credits: AtomicU32, sent: AtomicU32, miniport: Miniport, free: u32, slot: Option<Packet> }\n\
             impl Filter {\n\
                 fn drops(&self, p: &Packet) -> bool { p.0.is_empty() }\n\
                 pub fn send_complete(&self) { self.credits.fetch_add(1, Ordering::AcqRel); }\n\
             }\n"
        };
    }

    /// KB Q228942: the filtered path returns without giving the credit back.
    const KB_Q228942: &str = concat!(
        filter!(),
        "impl Filter {
    pub fn send(&self, packet: Packet) {
        self.credits.fetch_sub(1, Ordering::AcqRel);
        if self.drops(&packet) {
            return;
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.miniport.send(packet);
    }
}"
    );

    #[test]
    fn vectors() {
        Tester::new(&ResourceLeak)
            .pass(&[
                // the filtered path gives the credit back
                concat!(
                    filter!(),
                    "impl Filter { pub fn send(&self, packet: Packet) {
                        self.credits.fetch_sub(1, Ordering::AcqRel);
                        if self.drops(&packet) { self.credits.fetch_add(1, Ordering::AcqRel); return; }
                        self.miniport.send(packet);
                    } }"
                ),
                // a refused packet gives its credit back
                concat!(
                    filter!(),
                    "impl Filter { pub fn send(&self, packet: Packet) -> Result<(), Refused> {
                        self.credits.fetch_sub(1, Ordering::AcqRel);
                        if let Err(e) = self.miniport.try_send(packet) {
                            self.credits.fetch_add(1, Ordering::AcqRel);
                            return Err(e);
                        }
                        Ok(())
                    } }"
                ),
                // a statistics counter that only grows is no resource
                concat!(
                    filter!(),
                    "impl Filter { pub fn send(&self, packet: Packet) {
                        self.sent.fetch_add(1, Ordering::Relaxed);
                        if self.drops(&packet) { return; }
                        self.miniport.send(packet);
                    } }"
                ),
                // a helper that takes on every path leaves it to its callers
                concat!(
                    filter!(),
                    "impl Filter { fn take_credit(&self) { self.credits.fetch_sub(1, Ordering::AcqRel); } }"
                ),
                // storing the packet into a field hands it off
                concat!(
                    filter!(),
                    "impl Filter { pub fn park(&mut self, packet: Packet) {
                        self.credits.fetch_sub(1, Ordering::AcqRel);
                        if self.drops(&packet) { self.slot = Some(packet); return; }
                        self.miniport.send(packet);
                    } }"
                ),
                // a plain field counter given back on the early path
                concat!(
                    filter!(),
                    "impl Filter {
                        pub fn post(&mut self, packet: Packet) {
                            self.free -= 1;
                            if self.drops(&packet) { self.free += 1; return; }
                            self.miniport.send(packet);
                        }
                    }"
                ),
            ])
            .fail(&[
                KB_Q228942,
                // the miniport refused the packet: no completion will come
                concat!(
                    filter!(),
                    "impl Filter { pub fn send(&self, packet: Packet) -> Result<(), Refused> {
                        self.credits.fetch_sub(1, Ordering::AcqRel);
                        if let Err(e) = self.miniport.try_send(packet) { return Err(e); }
                        Ok(())
                    } }"
                ),
                // `-= 1` on a plain field, skipped back on the early return
                concat!(
                    filter!(),
                    "impl Filter {
                        pub fn post(&mut self, packet: Packet) {
                            self.free -= 1;
                            if self.drops(&packet) { return; }
                            self.miniport.send(packet);
                        }
                        pub fn complete(&mut self) { self.free += 1; }
                    }"
                ),
                // `?` leaves with the credit taken
                concat!(
                    filter!(),
                    "impl Filter { pub fn send(&self, packet: Packet, r: Result<(), Refused>) -> Result<(), Refused> {
                        self.credits.fetch_sub(1, Ordering::AcqRel);
                        r?;
                        self.miniport.send(packet);
                        Ok(())
                    } }"
                ),
            ])
            .run();
    }

    #[test]
    fn message() {
        assert_message(
            &ResourceLeak,
            KB_Q228942,
            &[
                "warn[resource_leak]: `Filter.credits` taken here is neither given back nor handed off on 1 of 2 paths out of `send`",
                "  --> 16:9 `self.credits.fetch_sub(1, Ordering::AcqRel)`: resource taken here",
                "   - 18:13 `return`: leaves here without giving it back",
                "   - 21:9 `self.miniport.send(packet)`: given back or handed off here on the other paths",
                "  note: leaks on: lib.rs:18",
                "  help: give the resource back (or hand the packet on) before every return",
                "  key: resource_leak:crate::Filter::send:crate::Filter.credits",
            ],
        );
    }
}
