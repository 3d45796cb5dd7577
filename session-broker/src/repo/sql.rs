//! A small builder for statements with a variable number of `$n` parameters (filters,
//! keyset paging), binding values in the order they were added.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe};
use uuid::Uuid;

use crate::db::DbError;
use crate::db::row::millis;
use crate::model::PageRequest;

#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    Int(i64),
}

#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
    has_where: bool,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            ..Self::default()
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Records that the text already has a WHERE clause.
    pub fn mark_where(&mut self) -> &mut Self {
        self.has_where = true;
        self
    }

    /// Adds a value and returns its placeholder.
    pub fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }

    /// Appends `AND`/`WHERE` and a condition `column op $n`.
    pub fn and(&mut self, column: &str, op: &str, a: Arg) -> &mut Self {
        let p = self.arg(a);
        let kw = if self.has_where { " AND " } else { " WHERE " };
        self.has_where = true;
        self.text.push_str(&format!("{kw}{column} {op} {p}"));
        self
    }

    pub fn and_text(&mut self, column: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.and(column, "=", Arg::Text(v.to_owned()));
        }
        self
    }

    pub fn and_uuid(&mut self, column: &str, value: Option<Uuid>) -> &mut Self {
        if let Some(v) = value {
            self.and(column, "=", Arg::Text(v.to_string()));
        }
        self
    }

    pub fn and_time(
        &mut self,
        column: &str,
        op: &str,
        t: Option<time::OffsetDateTime>,
    ) -> &mut Self {
        if let Some(t) = t {
            self.and(column, op, Arg::Int(millis(t)));
        }
        self
    }

    /// Keyset paging on the id column; fetches one row more than asked to learn whether
    /// another page follows.
    pub fn page(&mut self, page: PageRequest, newest_first: bool) -> &mut Self {
        self.page_by("id", page, newest_first)
    }

    /// Keyset paging on another UUID v7 column.
    pub fn page_by(&mut self, column: &str, page: PageRequest, newest_first: bool) -> &mut Self {
        if let Some(c) = page.cursor {
            let op = if newest_first { "<" } else { ">" };
            self.and(column, op, Arg::Text(c.to_string()));
        }
        let dir = if newest_first { "DESC" } else { "ASC" };
        let limit = self.arg(Arg::Int(i64::from(page.limit) + 1));
        self.text
            .push_str(&format!(" ORDER BY {column} {dir} LIMIT {limit}"));
        self
    }

    fn query(&self) -> Query<'static, Any, AnyArguments> {
        // The text is assembled from constants and `$n` placeholders only; values are bound.
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.clone()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }

    pub async fn fetch_all(&self, conn: &mut AnyConnection) -> Result<Vec<AnyRow>, DbError> {
        Ok(self.query().fetch_all(conn).await?)
    }
}
