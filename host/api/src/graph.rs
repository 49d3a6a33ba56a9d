//! `GET /api/tasks/{id}/graph`: a task with everything it waits on and everything waiting
//! on it, transitively, as nodes and edges (edge: dependency → dependent).

use super::openapi::refusals::{StoreFailed, TaskLookup};
use super::tasks::TaskPath;
use super::{ApiError, AppState, blocking};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_swarm::persist::TaskTables;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The most nodes one graph holds; a larger neighbourhood is cut (`truncated`).
pub const MAX_NODES: usize = 500;

/// One task of a graph.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Node {
    /// Its id.
    pub id: TaskId,
    /// Its title.
    pub title: String,
    /// Its status.
    pub status: TaskStatus,
    /// Its worker, once assigned.
    pub worker: Option<String>,
    /// The tasks it waits on.
    pub depends_on: Vec<TaskId>,
}

/// `from` must finish before `to` can start.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub struct Edge {
    /// The dependency.
    pub from: TaskId,
    /// The dependent.
    pub to: TaskId,
}

/// A task's dependency graph.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Graph {
    /// The task asked about.
    pub task: TaskId,
    /// It and every task connected to it through dependencies, by id.
    pub nodes: Vec<Node>,
    /// Every dependency between two listed nodes.
    pub edges: Vec<Edge>,
    /// Whether the graph was cut at [`MAX_NODES`].
    pub truncated: bool,
}

/// Show a task's dependency graph: everything it waits on and everything waiting on it.
#[utoipa::path(
    get,
    path = "/api/tasks/{id}/graph",
    tag = "tasks",
    operation_id = "show_task_graph",
    params(TaskPath),
    responses(
        (status = 200, description = "The graph, cut at 500 nodes", body = Graph),
        TaskLookup,
        StoreFailed,
    ),
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
) -> Result<Json<Graph>, ApiError> {
    let id = task.id()?;
    let store = state.registry.store().clone();
    let graph = blocking(move || {
        let mut all = HashMap::new();
        store.for_each_task(|t| {
            all.insert(t.id, node(t));
        })?;
        Ok::<_, hypernet_store::StoreError>(build(id, all))
    })
    .await?;
    graph
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no task {id}")))
}

fn node(task: Task) -> Node {
    Node {
        id: task.id,
        title: task.title,
        status: task.status,
        worker: task.worker,
        depends_on: task.depends_on,
    }
}

/// The graph around `root`, walking dependencies up and dependents down; `None` when there
/// is no such task.
fn build(root: TaskId, mut all: HashMap<TaskId, Node>) -> Option<Graph> {
    all.get(&root)?;
    let mut dependents: HashMap<TaskId, Vec<TaskId>> = HashMap::new();
    for n in all.values() {
        for dep in &n.depends_on {
            dependents.entry(*dep).or_default().push(n.id);
        }
    }
    let mut picked: BTreeMap<TaskId, Node> = BTreeMap::new();
    let mut truncated = false;
    // Breadth first in both directions at once, so a cut keeps the nearest tasks.
    let mut queue = VecDeque::from([root]);
    while let Some(id) = queue.pop_front() {
        if picked.contains_key(&id) {
            continue;
        }
        if picked.len() == MAX_NODES {
            truncated = true;
            break;
        }
        let Some(n) = all.remove(&id) else { continue };
        queue.extend(n.depends_on.iter().copied());
        queue.extend(dependents.get(&id).into_iter().flatten().copied());
        picked.insert(id, n);
    }
    let edges = picked
        .values()
        .flat_map(|n| {
            n.depends_on
                .iter()
                .filter(|d| picked.contains_key(d))
                .map(|d| Edge { from: *d, to: n.id })
        })
        .collect();
    Some(Graph {
        task: root,
        nodes: picked.into_values().collect(),
        edges,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u64, deps: &[u64]) -> (TaskId, Node) {
        (
            TaskId(id),
            Node {
                id: TaskId(id),
                title: format!("t{id}"),
                status: TaskStatus::Pending,
                worker: None,
                depends_on: deps.iter().map(|d| TaskId(*d)).collect(),
            },
        )
    }

    fn ids(g: &Graph) -> Vec<u64> {
        g.nodes.iter().map(|n| n.id.0).collect()
    }

    #[test]
    fn walks_up_and_down_but_not_into_unrelated_tasks() {
        // 1 → 2 → 4, 3 → 4, 4 → 5; 6 stands alone; 7 depends on 1 (a sibling branch).
        let all: HashMap<_, _> = [
            n(1, &[]),
            n(2, &[1]),
            n(3, &[]),
            n(4, &[2, 3]),
            n(5, &[4]),
            n(6, &[]),
            n(7, &[1]),
        ]
        .into_iter()
        .collect();
        let g = build(TaskId(4), all.clone()).unwrap();
        assert_eq!(ids(&g), vec![1, 2, 3, 4, 5, 7]);
        assert!(g.edges.contains(&Edge {
            from: TaskId(2),
            to: TaskId(4)
        }));
        assert_eq!(g.edges.len(), 5);
        assert!(!g.truncated);
        let alone = build(TaskId(6), all.clone()).unwrap();
        assert_eq!((ids(&alone), alone.edges.len()), (vec![6], 0));
        assert!(build(TaskId(99), all).is_none());
    }

    #[test]
    fn the_middle_of_a_chain_sees_the_whole_chain() {
        // 1 → 2 → 3 → 4: from 3, two ancestors and one descendant, every link kept.
        let all: HashMap<_, _> = [n(1, &[]), n(2, &[1]), n(3, &[2]), n(4, &[3])]
            .into_iter()
            .collect();
        let g = build(TaskId(3), all).unwrap();
        assert_eq!(ids(&g), vec![1, 2, 3, 4]);
        assert_eq!(g.edges.len(), 3);
    }

    #[test]
    fn a_huge_neighbourhood_is_cut_and_says_so() {
        let all: HashMap<_, _> = (1..=(MAX_NODES as u64 + 10))
            .map(|i| n(i, if i == 1 { &[][..] } else { &[1][..] }))
            .collect();
        let g = build(TaskId(1), all).unwrap();
        assert_eq!(g.nodes.len(), MAX_NODES);
        assert!(g.truncated);
    }
}
