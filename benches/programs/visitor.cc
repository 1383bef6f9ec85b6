// A visitor over a tree: an arithmetic expression tree of five node
// classes is evaluated and measured by two visitors (double dispatch:
// `accept` is virtual in the node, `visit` virtual in the visitor), two
// `call_indirect`s per node visited.
#include "common.h"

namespace {

class Num;
class Add;
class Mul;
class Neg;
class Var;

class Visitor {
public:
    virtual uint32_t visit(const Num&) { return 0; }
    virtual uint32_t visit(const Add&) { return 0; }
    virtual uint32_t visit(const Mul&) { return 0; }
    virtual uint32_t visit(const Neg&) { return 0; }
    virtual uint32_t visit(const Var&) { return 0; }
};

class Node {
public:
    virtual uint32_t accept(Visitor&) const { return 0; }
};

class Num : public Node {
public:
    uint32_t value = 0;
    uint32_t accept(Visitor& v) const override { return v.visit(*this); }
};
class Add : public Node {
public:
    const Node* left = nullptr;
    const Node* right = nullptr;
    uint32_t accept(Visitor& v) const override { return v.visit(*this); }
};
class Mul : public Node {
public:
    const Node* left = nullptr;
    const Node* right = nullptr;
    uint32_t accept(Visitor& v) const override { return v.visit(*this); }
};
class Neg : public Node {
public:
    const Node* inner = nullptr;
    uint32_t accept(Visitor& v) const override { return v.visit(*this); }
};
class Var : public Node {
public:
    uint32_t slot = 0;
    uint32_t accept(Visitor& v) const override { return v.visit(*this); }
};

class Evaluate : public Visitor {
public:
    uint32_t vars[4] = {0, 0, 0, 0};
    uint32_t visit(const Num& n) override { return n.value; }
    uint32_t visit(const Add& n) override { return n.left->accept(*this) + n.right->accept(*this); }
    uint32_t visit(const Mul& n) override { return n.left->accept(*this) * n.right->accept(*this); }
    uint32_t visit(const Neg& n) override { return 0u - n.inner->accept(*this); }
    uint32_t visit(const Var& n) override { return vars[n.slot & 3]; }
};

class Depth : public Visitor {
public:
    uint32_t visit(const Num&) override { return 1; }
    uint32_t visit(const Add& n) override { return 1 + max(n.left->accept(*this), n.right->accept(*this)); }
    uint32_t visit(const Mul& n) override { return 1 + max(n.left->accept(*this), n.right->accept(*this)); }
    uint32_t visit(const Neg& n) override { return 1 + n.inner->accept(*this); }
    uint32_t visit(const Var&) override { return 1; }

private:
    static uint32_t max(uint32_t a, uint32_t b) { return a > b ? a : b; }
};

// A pool of nodes, from which a random tree is built.
struct Pool {
    Num nums[32];
    Add adds[16];
    Mul muls[16];
    Neg negs[8];
    Var vars[16];
    uint32_t used[5] = {0, 0, 0, 0, 0};
    uint32_t state;

    explicit Pool(uint32_t seed) : state(seed | 1) {}

    uint32_t random() { return state = next_random(state); }

    // A tree of about `budget` inner nodes.
    const Node* build(uint32_t budget) {
        uint32_t r = random();
        if (budget == 0 || used[0] >= 32) {
            if ((r & 1) && used[4] < 16) {
                Var& v = vars[used[4]++];
                v.slot = r >> 4;
                return &v;
            }
            Num& n = nums[used[0]++ & 31];
            n.value = r >> 8;
            return &n;
        }
        switch (r % 3) {
        case 0:
            if (used[1] < 16) {
                Add& a = adds[used[1]++];
                a.left = build(budget / 2);
                a.right = build(budget - 1 - budget / 2);
                return &a;
            }
            break;
        case 1:
            if (used[2] < 16) {
                Mul& m = muls[used[2]++];
                m.left = build(budget / 2);
                m.right = build(budget - 1 - budget / 2);
                return &m;
            }
            break;
        default:
            if (used[3] < 8) {
                Neg& g = negs[used[3]++];
                g.inner = build(budget - 1);
                return &g;
            }
            break;
        }
        return build(0);
    }
};

}  // namespace

// n counts tree evaluations (each visits every node of a ~40-node tree
// twice, once per visitor).
RUN_FUNCTION {
    Pool pool((uint32_t)seed);
    const Node* tree = pool.build(24);
    Evaluate eval;
    Depth depth;
    uint32_t acc = (uint32_t)seed;
    for (int32_t i = 0; i < n; i++) {
        eval.vars[(uint32_t)i & 3] = acc;
        acc = mix(acc, tree->accept(eval) + tree->accept(depth));
    }
    return (int32_t)acc;
}
