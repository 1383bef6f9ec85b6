// textstats: reads text on standard input (or uses a built-in sample) and
// reports statistics about it, once as narrow (char) and once as wide
// (wchar_t) text: line, word and character counts, the most
// frequent words, words matching a few regular expressions, number-like
// tokens summed as floating point, and a table of word lengths. It uses
// iostreams, locales, regular expressions and the standard containers and
// algorithms, so the WebAssembly build carries a large part of the C++
// standard library: the large module of the compilation benchmark.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <locale>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

const char *const kSample =
    "The quick brown fox jumps over the lazy dog 3 times.\n"
    "WebAssembly modules compile to native code; 2.5 seconds is too long.\n"
    "A precompiled module loads in 0.01 seconds, said the fox.\n";

// Narrow and wide string literals from one spelling.
template <typename CharT> std::basic_string<CharT> widen(const char *text) {
    std::basic_string<CharT> out;
    for (; *text; ++text) {
        out.push_back(static_cast<CharT>(static_cast<unsigned char>(*text)));
    }
    return out;
}

template <typename CharT> struct Stats {
    using String = std::basic_string<CharT>;
    std::size_t lines = 0;
    std::size_t chars = 0;
    std::vector<String> words;
    std::map<std::size_t, std::size_t> lengths;
    std::unordered_map<String, std::size_t> counts;
    double numbers = 0;
};

template <typename CharT> std::basic_string<CharT> lower(std::basic_string<CharT> word) {
    const auto &ctype = std::use_facet<std::ctype<CharT>>(std::locale());
    ctype.tolower(&word[0], &word[0] + word.size());
    return word;
}

template <typename CharT> Stats<CharT> collect(std::basic_istream<CharT> &in) {
    using String = std::basic_string<CharT>;
    Stats<CharT> stats;
    String line;
    const std::basic_regex<CharT> token(widen<CharT>(R"([A-Za-z]+|[0-9]+(\.[0-9]+)?)"));
    using Iterator = std::regex_iterator<typename String::const_iterator>;
    while (std::getline(in, line)) {
        ++stats.lines;
        stats.chars += line.size() + 1;
        for (Iterator it(line.cbegin(), line.cend(), token), end; it != end; ++it) {
            const String text = it->str();
            if (std::isdigit(text[0], std::locale())) {
                std::basic_istringstream<CharT> number(text);
                double value = 0;
                number >> value;
                stats.numbers += value;
                continue;
            }
            const String word = lower(text);
            stats.words.push_back(word);
            ++stats.counts[word];
            ++stats.lengths[word.size()];
        }
    }
    return stats;
}

template <typename CharT>
void report(const Stats<CharT> &stats, std::basic_ostream<CharT> &out) {
    using String = std::basic_string<CharT>;
    const auto w = [](const char *text) { return widen<CharT>(text); };
    out << w("lines ") << stats.lines << w(", words ") << stats.words.size()
        << w(", characters ") << stats.chars << '\n';
    std::vector<std::pair<String, std::size_t>> top(stats.counts.begin(), stats.counts.end());
    std::sort(top.begin(), top.end(), [](const auto &a, const auto &b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    top.resize(std::min<std::size_t>(top.size(), 5));
    for (const auto &[word, count] : top) {
        out << std::setw(12) << std::left << word << std::right << std::setw(4) << count << '\n';
    }
    const std::set<String> distinct(stats.words.begin(), stats.words.end());
    const std::basic_regex<CharT> vowels_only(w("^[aeiou]+$")), ends_ed(w(".*ed$")),
        double_letter(w(".*(.)\\1.*"));
    std::size_t v = 0, e = 0, d = 0;
    for (const auto &word : distinct) {
        v += std::regex_match(word, vowels_only);
        e += std::regex_match(word, ends_ed);
        d += std::regex_match(word, double_letter);
    }
    out << w("distinct ") << distinct.size() << w(", vowels only ") << v << w(", ending in ed ")
        << e << w(", with a double letter ") << d << '\n';
    out << std::fixed << std::setprecision(3) << w("sum of numbers ") << stats.numbers << '\n';
    const std::size_t total = std::accumulate(
        stats.lengths.begin(), stats.lengths.end(), std::size_t{0},
        [](std::size_t sum, const auto &entry) { return sum + entry.first * entry.second; });
    out << w("mean word length ")
        << (stats.words.empty() ? 0.0 : static_cast<double>(total) / stats.words.size()) << '\n';
    for (const auto &[length, count] : stats.lengths) {
        out << std::setw(3) << length << ' ' << String(count, '#') << '\n';
    }
}

} // namespace

int main(int argc, char **argv) {
    std::locale::global(std::locale::classic());
    std::string text = kSample;
    if (argc > 1 && std::string(argv[1]) == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    std::istringstream narrow(text);
    std::ostringstream narrow_out;
    report(collect(narrow), narrow_out);
    std::wistringstream wide(widen<wchar_t>(text.c_str()));
    std::wostringstream wide_out;
    report(collect(wide), wide_out);
    std::cout << narrow_out.str();
    // Both reports must agree: the wide one, narrowed, is the same text.
    const std::wstring wide_text = wide_out.str();
    const bool same = narrow_out.str() == std::string(wide_text.begin(), wide_text.end());
    std::cout << (same ? "wide report agrees\n" : "wide report differs\n");
    return same ? 0 : 1;
}
