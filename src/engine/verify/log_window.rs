//! The ts coverage of a log archive (format/verify-log.md VERIFY-LOG-8): from the window's
//! lower and upper bound and the ts ranges whose events are known lost, the restorable windows
//! and the gaps between them. Pure.

use crate::engine::verify::finding::TsWindow;

/// Events with ts in `[from, to]` are lost (or unreadable); `cause` names the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lost {
    pub from: u64,
    pub to: u64,
    pub cause: String,
}

/// One gap with the causes that make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Gap {
    pub range: TsWindow,
    pub causes: Vec<String>,
}

/// VERIFY-LOG-8: a restore starting at `lower` (the task start, the safepoint or the
/// snapshot's backup ts) needs every event with ts in `(lower, target]`. A lost ts range
/// `[a, b]` therefore cuts the window at `a - 1`; the next window starts at `b + 1` (usable only
/// from a snapshot taken there). Ranges outside `(lower, upper]` do not matter; overlapping
/// and adjacent ones merge. Windows and gaps are inclusive on both ends; `lower > upper`
/// gives no window.
pub(crate) fn coverage(lower: u64, upper: u64, lost: &[Lost]) -> (Vec<TsWindow>, Vec<Gap>) {
    if lower > upper {
        return (Vec::new(), Vec::new());
    }
    let mut clipped: Vec<(u64, u64, &str)> = lost
        .iter()
        .filter_map(|l| {
            let from = l.from.max(lower.saturating_add(1));
            let to = l.to.min(upper);
            (from <= to && l.from <= l.to).then_some((from, to, l.cause.as_str()))
        })
        .collect();
    clipped.sort_unstable();
    let mut gaps: Vec<Gap> = Vec::new();
    for (from, to, cause) in clipped {
        match gaps.last_mut() {
            Some(g) if from <= g.range.to.saturating_add(1) => {
                g.range.to = g.range.to.max(to);
                if !g.causes.iter().any(|c| c == cause) {
                    g.causes.push(cause.to_string());
                }
            }
            _ => gaps.push(Gap {
                range: TsWindow { from, to },
                causes: vec![cause.to_string()],
            }),
        }
    }
    let mut windows = Vec::new();
    let mut cur = lower;
    for g in &gaps {
        // g.range.from > lower (clipped), so from - 1 cannot underflow.
        if g.range.from > cur {
            windows.push(TsWindow {
                from: cur,
                to: g.range.from - 1,
            });
        }
        cur = g.range.to.saturating_add(1);
    }
    if gaps.last().is_none_or(|g| g.range.to < upper) {
        windows.push(TsWindow {
            from: cur,
            to: upper,
        });
    }
    (windows, gaps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost(from: u64, to: u64, cause: &str) -> Lost {
        Lost {
            from,
            to,
            cause: cause.into(),
        }
    }

    fn w(from: u64, to: u64) -> TsWindow {
        TsWindow { from, to }
    }

    #[test]
    fn verify_log_8_no_loss_is_one_window() {
        assert_eq!(coverage(10, 100, &[]), (vec![w(10, 100)], vec![]));
        assert_eq!(coverage(10, 10, &[]), (vec![w(10, 10)], vec![]));
        assert_eq!(coverage(11, 10, &[]), (vec![], vec![]));
    }

    #[test]
    fn verify_log_8_losses_cut_and_merge() {
        let (win, gaps) = coverage(
            10,
            100,
            &[lost(40, 50, "b"), lost(20, 30, "a"), lost(31, 35, "c")],
        );
        assert_eq!(win, vec![w(10, 19), w(36, 39), w(51, 100)]);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].range, w(20, 35));
        assert_eq!(gaps[0].causes, ["a", "c"]);
        assert_eq!(gaps[1].range, w(40, 50));
    }

    #[test]
    fn verify_log_8_losses_outside_the_window_do_not_matter() {
        // at or below the lower bound (a restore from `lower` needs ts > lower), above upper
        let (win, gaps) = coverage(10, 100, &[lost(1, 10, "a"), lost(101, 200, "b")]);
        assert_eq!((win, gaps), (vec![w(10, 100)], vec![]));
        // straddling both ends
        let (win, gaps) = coverage(10, 100, &[lost(5, 12, "a"), lost(90, 300, "b")]);
        assert_eq!(win, vec![w(10, 10), w(13, 89)]);
        assert_eq!(gaps[0].range, w(11, 12));
        assert_eq!(gaps[1].range, w(90, 100));
    }
}
