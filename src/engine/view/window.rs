//! The viewable window of a log archive over a snapshot and its flush points (VIEW-2). Pure.

use crate::codec::tso::display_utc;
use crate::format::logmeta::RestorableWindow;

/// `[snapshot_ts, max_ts]` when the snapshot lies inside the log's restorable window
/// (LOG-TRUNC-2), with the flush points (each `.meta`'s max ts and the checkpoint) inside it,
/// ascending and distinct; otherwise no window and why.
pub(crate) fn windows_of(
    w: RestorableWindow,
    meta_max_ts: impl Iterator<Item = u64>,
    snapshot_ts: u64,
) -> (Vec<(u64, u64)>, Vec<u64>, Option<String>) {
    if snapshot_ts < w.min_ts || snapshot_ts > w.max_ts {
        let why = format!(
            "the snapshot's backup ts {snapshot_ts} ({}) is outside the log's restorable window [{} ({}), {} ({})]: no point-in-time view",
            display_utc(snapshot_ts),
            w.min_ts,
            display_utc(w.min_ts),
            w.max_ts,
            display_utc(w.max_ts)
        );
        return (Vec::new(), Vec::new(), Some(why));
    }
    let window = (snapshot_ts, w.max_ts);
    let mut points: Vec<u64> = meta_max_ts
        .chain(std::iter::once(w.max_ts))
        .filter(|t| (window.0..=window.1).contains(t))
        .collect();
    points.sort_unstable();
    points.dedup();
    (vec![window], points, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: RestorableWindow = RestorableWindow {
        min_ts: 100,
        max_ts: 500,
    };

    #[test]
    fn view_2_window_runs_from_the_snapshot_to_the_checkpoint() {
        let (w, points, why) = windows_of(W, [90, 300, 200, 300, 600].into_iter(), 150);
        assert_eq!(w, vec![(150, 500)]);
        assert_eq!(
            points,
            vec![200, 300, 500],
            "inside, sorted, distinct, with the checkpoint"
        );
        assert!(why.is_none());
    }

    #[test]
    fn view_2_no_window_when_the_snapshot_is_outside_the_log() {
        for snap in [99, 501] {
            let (w, points, why) = windows_of(W, [200].into_iter(), snap);
            assert!(w.is_empty() && points.is_empty());
            assert!(why.unwrap().contains("outside the log's restorable window"));
        }
    }
}
