// C++ virtual dispatch over heterogeneous objects: a scene of shapes of six
// classes in an array of base pointers, visited in a data-dependent order,
// each visit two virtual calls. Every call is a `call_indirect` through
// the vtable.
#include "common.h"

namespace {

class Shape {
public:
    virtual uint32_t area(uint32_t scale) const { return scale; }
    virtual uint32_t corners() const { return 0; }
};

class Square : public Shape {
    uint32_t side;
public:
    explicit Square(uint32_t s) : side(s) {}
    uint32_t area(uint32_t scale) const override { return side * side * scale; }
    uint32_t corners() const override { return 4; }
};

class Rect : public Shape {
    uint32_t w, h;
public:
    Rect(uint32_t w, uint32_t h) : w(w), h(h) {}
    uint32_t area(uint32_t scale) const override { return w * h * scale; }
    uint32_t corners() const override { return 4; }
};

class Triangle : public Shape {
    uint32_t base, height;
public:
    Triangle(uint32_t b, uint32_t h) : base(b), height(h) {}
    uint32_t area(uint32_t scale) const override { return base * height * scale / 2; }
    uint32_t corners() const override { return 3; }
};

class Circle : public Shape {
    uint32_t r;
public:
    explicit Circle(uint32_t r) : r(r) {}
    uint32_t area(uint32_t scale) const override { return r * r * scale * 355 / 113; }
    uint32_t corners() const override { return 0; }
};

class Hexagon : public Shape {
    uint32_t side;
public:
    explicit Hexagon(uint32_t s) : side(s) {}
    uint32_t area(uint32_t scale) const override { return side * side * scale * 26 / 10; }
    uint32_t corners() const override { return 6; }
};

class Star : public Shape {
    uint32_t points, radius;
public:
    Star(uint32_t p, uint32_t r) : points(p), radius(r) {}
    uint32_t area(uint32_t scale) const override { return points * radius * scale; }
    uint32_t corners() const override { return points * 2; }
};

constexpr uint32_t kEach = 16;
constexpr uint32_t kShapes = 6 * kEach;

}  // namespace

RUN_FUNCTION {
    // Objects live in this frame and are built on every call: a few hundred
    // instructions against the n iterations below.
    Square squares[kEach] = {
        Square(1), Square(2), Square(3), Square(4), Square(5), Square(6), Square(7), Square(8),
        Square(9), Square(10), Square(11), Square(12), Square(13), Square(14), Square(15), Square(16)};
    Rect rects[kEach] = {
        Rect(1, 2), Rect(2, 3), Rect(3, 4), Rect(4, 5), Rect(5, 6), Rect(6, 7), Rect(7, 8), Rect(8, 9),
        Rect(9, 1), Rect(1, 3), Rect(2, 5), Rect(3, 7), Rect(4, 9), Rect(5, 2), Rect(6, 4), Rect(7, 6)};
    Triangle triangles[kEach] = {
        Triangle(2, 2), Triangle(3, 4), Triangle(5, 6), Triangle(7, 8), Triangle(9, 10), Triangle(2, 9),
        Triangle(4, 7), Triangle(6, 5), Triangle(8, 3), Triangle(10, 1), Triangle(3, 3), Triangle(5, 5),
        Triangle(7, 7), Triangle(9, 9), Triangle(4, 4), Triangle(6, 6)};
    Circle circles[kEach] = {
        Circle(1), Circle(2), Circle(3), Circle(4), Circle(5), Circle(6), Circle(7), Circle(8),
        Circle(9), Circle(10), Circle(11), Circle(12), Circle(13), Circle(14), Circle(15), Circle(16)};
    Hexagon hexagons[kEach] = {
        Hexagon(1), Hexagon(2), Hexagon(3), Hexagon(4), Hexagon(5), Hexagon(6), Hexagon(7), Hexagon(8),
        Hexagon(9), Hexagon(10), Hexagon(11), Hexagon(12), Hexagon(13), Hexagon(14), Hexagon(15), Hexagon(16)};
    Star stars[kEach] = {
        Star(5, 1), Star(5, 2), Star(6, 3), Star(6, 4), Star(7, 5), Star(7, 6), Star(8, 7), Star(8, 8),
        Star(5, 9), Star(6, 10), Star(7, 11), Star(8, 12), Star(9, 13), Star(9, 14), Star(10, 15), Star(10, 16)};

    // Interleave the classes, then shuffle from the seed, so that
    // consecutive visits rarely meet the same class.
    const Shape* scene[kShapes];
    for (uint32_t i = 0; i < kEach; i++) {
        scene[6 * i + 0] = &squares[i];
        scene[6 * i + 1] = &rects[i];
        scene[6 * i + 2] = &triangles[i];
        scene[6 * i + 3] = &circles[i];
        scene[6 * i + 4] = &hexagons[i];
        scene[6 * i + 5] = &stars[i];
    }
    uint32_t state = (uint32_t)seed | 1;
    for (uint32_t i = kShapes - 1; i > 0; i--) {
        state = next_random(state);
        uint32_t j = state % (i + 1);
        const Shape* t = scene[i];
        scene[i] = scene[j];
        scene[j] = t;
    }

    uint32_t acc = (uint32_t)seed;
    for (int32_t i = 0; i < n; i++) {
        const Shape* s = scene[(acc >> 7) % kShapes];
        acc = mix(acc, s->area((uint32_t)i & 7) + s->corners());
    }
    return (int32_t)acc;
}
