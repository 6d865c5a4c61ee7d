//! Pages of results.

use seats_types::ResultInfo;

/// A response that holds all its results at once, with the `result_info` the server sent.
/// Iterate it for the items.
///
/// ```
/// # use seats_client::SinglePage;
/// let page = SinglePage::new(vec![1, 2, 3], None);
/// assert_eq!(page.iter().sum::<i32>(), 6);
/// assert_eq!(page.into_iter().count(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinglePage<T> {
    /// The items.
    pub result: Vec<T>,
    /// Pagination details, if the server sent them.
    pub result_info: Option<ResultInfo>,
}

impl<T> SinglePage<T> {
    /// A page of `result`.
    pub fn new(result: Vec<T>, result_info: Option<ResultInfo>) -> Self {
        SinglePage { result, result_info }
    }

    /// The items, borrowed.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.result.iter()
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.result.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.result.is_empty()
    }

    /// Pagination details, if the server sent them.
    pub fn result_info(&self) -> Option<&ResultInfo> {
        self.result_info.as_ref()
    }
}

impl<T> IntoIterator for SinglePage<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.result.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a SinglePage<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.result.iter()
    }
}
