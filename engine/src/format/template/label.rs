//! `.Label "key"`: docker's listings offer it as a Go method with an
//! argument, which gotmpl's data has no equivalent of; the parsed template
//! is rewritten so that it calls a function that knows the row's labels.

use gotmpl::parse::{BranchNode, CommandNode, Expr, ListNode, Node, PipeNode, SmolStr};

/// The function `.Label "key"` becomes.
pub(super) const LABEL_FUNC: &str = "__berth_label";

/// Rewrites every command that starts with the field `.Label` into a call
/// of [`LABEL_FUNC`] with the same arguments.
pub(super) fn rewrite_list(mut list: ListNode) -> ListNode {
    list.nodes = list.nodes.into_iter().map(rewrite_node).collect();
    list
}

fn rewrite_node(node: Node) -> Node {
    match node {
        Node::List(l) => Node::List(rewrite_list(l)),
        Node::Action(mut a) => {
            a.pipe = rewrite_pipe(a.pipe);
            Node::Action(a)
        }
        Node::If(b) => Node::If(rewrite_branch(b)),
        Node::Range(b) => Node::Range(rewrite_branch(b)),
        Node::With(b) => Node::With(rewrite_branch(b)),
        Node::Template(mut t) => {
            t.pipe = t.pipe.map(rewrite_pipe);
            Node::Template(t)
        }
        Node::Define(mut d) => {
            d.body = rewrite_list(d.body);
            Node::Define(d)
        }
        other => other,
    }
}

fn rewrite_branch(mut b: BranchNode) -> BranchNode {
    b.pipe = rewrite_pipe(b.pipe);
    b.body = rewrite_list(b.body);
    b.else_body = b.else_body.map(rewrite_list);
    b
}

fn rewrite_pipe(mut pipe: PipeNode) -> PipeNode {
    pipe.commands = pipe.commands.into_iter().map(rewrite_command).collect();
    pipe
}

fn rewrite_command(mut cmd: CommandNode) -> CommandNode {
    cmd.args = cmd.args.into_iter().map(rewrite_expr).collect();
    if let Some(Expr::Field(pos, fields)) = cmd.args.first()
        && fields.len() == 1
        && fields[0] == "Label"
    {
        cmd.args[0] = Expr::Identifier(*pos, SmolStr::new(LABEL_FUNC));
    }
    cmd
}

fn rewrite_expr(expr: Expr) -> Expr {
    match expr {
        Expr::Pipe(pos, pipe) => Expr::Pipe(pos, rewrite_pipe(pipe)),
        Expr::Chain(pos, inner, fields) => Expr::Chain(pos, Box::new(rewrite_expr(*inner)), fields),
        other => other,
    }
}
