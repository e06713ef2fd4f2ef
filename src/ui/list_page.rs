//! A long list as a screen pages through it: the operator's place in it
//! ([`ListCursor`]: the selected row by identity, and where it was) and the
//! rows copied around that place for one frame ([`ListPage`]). A frame
//! copies what it can show, never a whole log.

use std::ops::Range;

/// Where the operator is in a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCursor<K> {
    /// The selected row, by identity (it keeps the selection while rows
    /// arrive above it).
    pub selected: Option<K>,
    /// Where the selection was, used once that row has left the list.
    pub position: usize,
}

/// The rows of a list around the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage<T> {
    /// Rows in the whole list.
    pub total: usize,
    /// Index of `rows[0]` in the list.
    pub start: usize,
    pub rows: Vec<T>,
    /// Index into `rows` of the selected row.
    pub selected: Option<usize>,
}

impl<T> Default for ListPage<T> {
    fn default() -> Self {
        ListPage {
            total: 0,
            start: 0,
            rows: Vec::new(),
            selected: None,
        }
    }
}

/// The rows of a list of `total` to copy so that `position` is in the
/// middle of a page of `page` rows (or as near as the ends allow).
pub fn page_around(position: usize, total: usize, page: usize) -> Range<usize> {
    let page = page.max(1);
    let start = position
        .saturating_sub(page / 2)
        .min(total.saturating_sub(page));
    start..(start + page).min(total)
}

/// Where a move of `delta` rows from `current` lands in a list of `total`
/// (`total` > 0): clamped to the ends.
pub fn step(current: usize, delta: isize, total: usize) -> usize {
    (current as isize)
        .saturating_add(delta)
        .clamp(0, total as isize - 1) as usize
}

impl<T: Clone> ListPage<T> {
    /// Copies the page of `list` (in display order) around the cursor's
    /// row, or around where it was when it has gone.
    pub fn around<K: PartialEq>(
        list: &[&T],
        key: impl Fn(&T) -> K,
        cursor: &ListCursor<K>,
        page: usize,
    ) -> ListPage<T> {
        let total = list.len();
        let position = cursor.resolve(total, |k| list.iter().position(|row| key(row) == *k));
        let range = page_around(position, total, page);
        let rows = list[range.clone()].iter().map(|&row| row.clone()).collect();
        ListPage::of(total, range.start, rows, position)
    }
}

impl<T> ListPage<T> {
    /// `rows` from `start` of a list of `total`, the row at `position`
    /// (or the nearest one copied) selected.
    pub fn of(total: usize, start: usize, rows: Vec<T>, position: usize) -> ListPage<T> {
        ListPage {
            total,
            start,
            selected: (!rows.is_empty())
                .then(|| position.saturating_sub(start).min(rows.len() - 1)),
            rows,
        }
    }

    pub fn selected_row(&self) -> Option<&T> {
        self.selected.and_then(|i| self.rows.get(i))
    }
}

impl<K: PartialEq> ListCursor<K> {
    /// The cursor's row in a list of `total` (`find` says where a row is),
    /// else where it was, within the list.
    pub fn resolve(&self, total: usize, find: impl FnOnce(&K) -> Option<usize>) -> usize {
        self.selected
            .as_ref()
            .and_then(find)
            .unwrap_or(self.position.min(total.saturating_sub(1)))
    }

    /// Follows a page just copied: the row it resolved.
    pub fn sync<T>(&mut self, page: &ListPage<T>, key: impl Fn(&T) -> K) {
        if let (Some(i), Some(row)) = (page.selected, page.selected_row()) {
            self.selected = Some(key(row));
            self.position = page.start + i;
        }
    }

    /// Moves by `delta` rows, clamped to the list. Past the copied page the
    /// selection is only a position until the next page is copied.
    pub fn move_by<T>(&mut self, page: &ListPage<T>, delta: isize, key: impl Fn(&T) -> K) {
        if page.total == 0 {
            return;
        }
        let current = self
            .selected
            .as_ref()
            .and_then(|k| page.rows.iter().position(|row| key(row) == *k))
            .map_or(self.position, |i| page.start + i);
        let target = step(current, delta, page.total);
        self.position = target;
        self.selected = target
            .checked_sub(page.start)
            .and_then(|i| page.rows.get(i))
            .map(key);
    }

    /// Whether the selection has moved past the rows `page` holds.
    pub fn left_page<T>(&self, page: &ListPage<T>) -> bool {
        page.total > 0 && !(page.start..page.start + page.rows.len()).contains(&self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_follows_the_selected_row_and_falls_back_to_its_place() {
        let list: Vec<u32> = (0..100).collect();
        let refs: Vec<&u32> = list.iter().collect();
        let id = |x: &u32| *x;
        let mut cursor = ListCursor::default();
        let page = ListPage::around(&refs, id, &cursor, 10);
        assert_eq!(
            (page.start, page.rows.len(), page.selected),
            (0, 10, Some(0))
        );
        cursor.sync(&page, id);
        cursor.move_by(&page, 25, id);
        assert_eq!((cursor.position, cursor.selected), (25, None));
        assert!(cursor.left_page(&page));
        let page = ListPage::around(&refs, id, &cursor, 10);
        assert_eq!(page.selected_row(), Some(&25));
        assert_eq!(page.start, 20);
        cursor.sync(&page, id);
        // Rows arriving above keep the selection on its row.
        let grown: Vec<u32> = (0..3).map(|i| 1000 + i).chain(0..100).collect();
        let refs: Vec<&u32> = grown.iter().collect();
        let page = ListPage::around(&refs, id, &cursor, 10);
        assert_eq!(page.selected_row(), Some(&25));
        // Clamped at both ends; an empty list has no selection.
        cursor.move_by(&page, isize::MAX / 2, id);
        assert_eq!(cursor.position, grown.len() - 1);
        cursor.move_by(&page, isize::MIN / 2, id);
        assert_eq!(cursor.position, 0);
        let none: Vec<&u32> = Vec::new();
        let page = ListPage::around(&none, id, &cursor, 10);
        assert_eq!((page.total, page.selected), (0, None));
        assert_eq!(page_around(5, 3, 10), 0..3);
    }
}
