//! The review queue as the dashboard pages through it: the operator's
//! order, filter and selection ([`ReviewQuery`]) turned into the page of
//! cases around the selection ([`ReviewPage`]), and the frame that holds it
//! beside the engine's snapshot and the open screen's page ([`Shown`]).
//! The engine only answers which cases match, in order, and what they are
//! (`engine::review_query`).

use super::list_page::{ListCursor, ListPage, page_around};
use super::screen::{Screen, ScreenPage};
use crate::engine::Engine;
use crate::engine::review::ReviewItem;
use crate::engine::review_query::CaseQuery;
use crate::engine::snapshot::Snapshot;

/// Which page of the review queue to copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewQuery {
    pub cases: CaseQuery,
    /// The case the operator has selected (`seq`), and where it was: used
    /// when that case has left the queue.
    pub cursor: ListCursor<u64>,
    /// Cases to copy around the selection.
    pub page: usize,
}

/// The page of the review queue around the selection: of the cases
/// matching the filter, in the chosen order.
pub type ReviewPage = ListPage<ReviewItem>;

impl ListPage<ReviewItem> {
    /// Copies the page of `model`'s queue that `query` asks for: around the
    /// selected case, or around where it was when it has left the queue.
    pub fn take(engine: &Engine, model: &str, query: &ReviewQuery) -> ReviewPage {
        let order = engine.find_cases(model, &query.cases);
        let total = order.len();
        let position = query
            .cursor
            .resolve(total, |seq| order.iter().position(|s| s == seq));
        let range = page_around(position, total, query.page);
        let cases = engine.cases(model, &order[range.clone()]);
        ListPage::of(total, range.start, cases, position)
    }
}

/// What a frame copies besides the snapshot: the review page, and the
/// page of the screen open instead of the panels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShownQuery {
    pub review: ReviewQuery,
    pub screen: Screen,
}

/// What one frame shows: the engine's snapshot, the review page of the
/// model on screen and the open screen's page.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub snap: Snapshot,
    pub review: ReviewPage,
    pub screen: ScreenPage,
}

impl Shown {
    /// Copies from `engine` what a frame of `model` (the first model when
    /// `None` or unknown) needs, with the pages `query` asks for.
    pub fn take(engine: &Engine, model: Option<&str>, query: &ShownQuery) -> Shown {
        let snap = engine.snapshot(model);
        let on_screen = snap.model.as_ref().map(|m| m.name.as_str());
        let review = on_screen
            .map(|m| ReviewPage::take(engine, m, &query.review))
            .unwrap_or_default();
        let screen = query.screen.take(engine, on_screen, query.review.page);
        Shown {
            snap,
            review,
            screen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::review_query::ReviewOrder;
    use crate::engine::review_query::tests::engine_with_cases;

    fn ids(page: &ReviewPage) -> Vec<&str> {
        page.rows.iter().map(|i| i.case_id.as_str()).collect()
    }

    #[test]
    fn pages_follow_selection_and_fall_back_to_the_position() {
        let e = engine_with_cases();
        let q = ReviewQuery {
            page: 10,
            ..ReviewQuery::default()
        };
        let page = ReviewPage::take(&e, "m", &q);
        assert_eq!(ids(&page), ["c0", "c1", "c2", "c4"]);
        assert_eq!((page.total, page.selected), (4, Some(0)));
        // A page of two around the selected case, in the query's order.
        let q = ReviewQuery {
            cases: CaseQuery {
                order: ReviewOrder::LowestConfidenceFirst,
                filter: None,
            },
            cursor: ListCursor {
                selected: Some(page.rows[1].seq),
                position: 0,
            },
            page: 2,
        };
        let page = ReviewPage::take(&e, "m", &q);
        assert_eq!(page.selected_row().unwrap().case_id, "c1");
        assert_eq!((page.total, page.rows.len()), (4, 2));
        // A case no longer queued: the selection stays where it was.
        let q = ReviewQuery {
            cursor: ListCursor {
                selected: Some(999),
                position: 3,
            },
            page: 10,
            ..ReviewQuery::default()
        };
        let page = ReviewPage::take(&e, "m", &q);
        assert_eq!(page.selected_row().unwrap().case_id, "c4");
        // No page is a page of one; no match is an empty page.
        let q = ReviewQuery::default();
        assert_eq!(ReviewPage::take(&e, "m", &q).rows.len(), 1);
        let q = ReviewQuery {
            cases: CaseQuery {
                filter: Some("zz".into()),
                ..CaseQuery::default()
            },
            page: 10,
            ..ReviewQuery::default()
        };
        let page = ReviewPage::take(&e, "m", &q);
        assert_eq!((page.total, page.selected), (0, None));
    }
}
