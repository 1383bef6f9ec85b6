// Virtual calls through base-class pointers held in a std::vector of
// std::unique_ptr, with a virtual destructor and a pure virtual method:
// the C++ program of the WASI tests.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

struct Shape {
    virtual ~Shape() { destroyed++; }
    virtual double area() const = 0;
    virtual std::string name() const { return "shape"; }
    static int destroyed;
};
int Shape::destroyed = 0;

struct Square : Shape {
    double side;
    explicit Square(double s) : side(s) {}
    double area() const override { return side * side; }
    std::string name() const override { return "square"; }
};

struct Circle : Shape {
    double r;
    explicit Circle(double r) : r(r) {}
    double area() const override { return 3.14159265358979 * r * r; }
    std::string name() const override { return "circle"; }
};

struct Rect : Square {
    double other;
    Rect(double a, double b) : Square(a), other(b) {}
    double area() const override { return side * other; }
    // name() is inherited from Square: a call through two levels.
};

int main() {
    {
        std::vector<std::unique_ptr<Shape>> shapes;
        for (int i = 1; i <= 4; i++) {
            shapes.push_back(std::make_unique<Square>(i));
            shapes.push_back(std::make_unique<Circle>(i / 2.0));
            shapes.push_back(std::make_unique<Rect>(i, i + 1));
        }
        std::sort(shapes.begin(), shapes.end(),
                  [](const auto &a, const auto &b) { return a->area() < b->area(); });
        double total = 0;
        for (const auto &s : shapes) {
            std::printf("%-6s %8.3f\n", s->name().c_str(), s->area());
            total += s->area();
        }
        std::printf("total %.3f\n", total);
    }
    std::printf("destroyed %d\n", Shape::destroyed);
    return 0;
}
