// bench_svg: the grouped bar chart of `silica bench --plot`, written by hand as plain SVG.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>

#include "cli/bench_report.h"

namespace silica {
namespace {

constexpr double kBarWidth = 30, kBarGap = 4, kGroupGap = 26;
constexpr double kPlotHeight = 260, kMarginLeft = 64, kMarginRight = 16;
constexpr double kMarginTop = 64, kMarginBottom = 78, kMinPlotWidth = 180;
constexpr double kHeadroom = 1.18;  // above the tallest bar + sd: room for its value label
constexpr int kTargetTicks = 5;
constexpr const char* kColors[] = {"#3b6fb6", "#e07b28", "#4f9d57", "#b04a8f"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

template <typename T>
int index_of(std::vector<T>& v, const T& x) {  // appends when absent: first-seen order
  auto it = std::find(v.begin(), v.end(), x);
  if (it != v.end()) return int(it - v.begin());
  v.push_back(x);
  return int(v.size() - 1);
}

double nice_step(double range) {  // 1, 2 or 5 times a power of ten
  const double raw = range / kTargetTicks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

struct Layout {
  std::vector<std::string> tests, engines;
  std::vector<std::pair<std::string, int>> groups;  // (model, threads)
  std::vector<std::string> labels;                  // [groups]: the type, or the file name
  double group_width() const { return double(engines.size()) * (kBarWidth + kBarGap) + kGroupGap; }
  double plot_width() const {
    return std::max(kMinPlotWidth, double(groups.size()) * group_width());
  }
  double panel_width() const { return kMarginLeft + plot_width() + kMarginRight; }
};

// Grid lines and tick labels from 0 to ymax, the two axes and their labels, of a panel whose
// plot area starts at x `left` and is `w` wide (x0: the panel's own left edge).
std::string axes(double left, double w, double ymax, const char* y_label, const char* x_label,
                 double x0) {
  const double bottom = kMarginTop + kPlotHeight;
  auto y_of = [&](double v) { return bottom - v / ymax * kPlotHeight; };
  std::string s;
  const double step = nice_step(ymax);
  for (double t = 0; t <= ymax; t += step) {
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", left,
        y_of(t), left + w, y_of(t));
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\" font-size=\"11\">{:g}</text>\n",
        left - 6, y_of(t) + 4, t);
  }
  s += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", left,
      double(kMarginTop), bottom);
  s += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{2:.1f}\" x2=\"{1:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"/>\n", left,
      left + w, bottom);
  s += fmt::format(
      "<text transform=\"translate({:.1f},{:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      x0 + 16, kMarginTop + kPlotHeight / 2, y_label);
  s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
                   left + w / 2, bottom + 56, x_label);
  return s;
}

// One panel: axes, ticks, the bars of one test and the group labels, at x offset `x0`.
std::string panel(const std::vector<BenchRow>& rows, const Layout& L, const std::string& test,
                  double x0) {
  double ymax = 0;
  for (const auto& r : rows)
    if (r.test == test) ymax = std::max(ymax, r.mean() + r.stddev());
  ymax = ymax > 0 ? ymax * kHeadroom : 1.0;
  const double left = x0 + kMarginLeft, bottom = kMarginTop + kPlotHeight, w = L.plot_width();
  auto y_of = [&](double v) { return bottom - v / ymax * kPlotHeight; };
  std::string s = fmt::format("<g class=\"panel\" data-test=\"{}\">\n", esc(test));
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
      left + w / 2, kMarginTop - 12, esc(test));
  s += axes(left, w, ymax, "tokens/s", "weight type, threads", x0);
  for (size_t g = 0; g < L.groups.size(); ++g) {
    const double gx = left + double(g) * L.group_width() + kGroupGap / 2;
    const auto& [model, threads] = L.groups[g];
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
        gx + (L.group_width() - kGroupGap) / 2, bottom + 16, esc(L.labels[g]));
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\">{} "
        "thread{}</text>\n",
        gx + (L.group_width() - kGroupGap) / 2, bottom + 30, threads, threads == 1 ? "" : "s");
    for (const auto& r : rows) {
      if (r.test != test || r.model != model || r.threads != threads) continue;
      const int e =
          int(std::find(L.engines.begin(), L.engines.end(), r.engine) - L.engines.begin());
      const double x = gx + double(e) * (kBarWidth + kBarGap), m = r.mean(), sd = r.stddev();
      s += fmt::format(
          "<rect class=\"bar\" data-engine=\"{}\" data-model=\"{}\" data-threads=\"{}\" "
          "data-test=\"{}\" "
          "data-value=\"{:.3f}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\">"
          "<title>{} {:.2f} ± {:.2f} t/s</title></rect>\n",
          esc(r.engine), esc(r.model), r.threads, esc(r.test), m, x, y_of(m), kBarWidth,
          bottom - y_of(m), kColors[size_t(e) % std::size(kColors)], esc(r.engine), m, sd);
      if (sd > 0)
        s += fmt::format(
            "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#222\"/>\n",
            x + kBarWidth / 2, y_of(m + sd), y_of(std::max(0.0, m - sd)));
      s += fmt::format(
          "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"10\">{:.1f}</text>\n",
          x + kBarWidth / 2, y_of(m + sd) - 4, m);
    }
  }
  return s + "</g>\n";
}

// The load panel: per model (labelled as its first group), one bar per engine and kind of load
// (warm: the file in the page cache; cold: read from the disk), in seconds.
struct LoadPanel {
  std::vector<std::string> models, labels;
  std::vector<const char*> kinds;  // "warm", and "cold" where any was measured
  size_t bars_per_group(const Layout& L) const { return L.engines.size() * kinds.size(); }
  double group_width(const Layout& L) const {
    return double(bars_per_group(L)) * (kBarWidth + kBarGap) + kGroupGap;
  }
  double plot_width(const Layout& L) const {
    return std::max(kMinPlotWidth, double(models.size()) * group_width(L));
  }
  double panel_width(const Layout& L) const { return kMarginLeft + plot_width(L) + kMarginRight; }
};

double load_seconds(const BenchRow& r, const char* kind) {
  return (std::string_view(kind) == "cold" ? r.load_cold_ms : r.load_ms) / 1e3;
}

LoadPanel load_layout(const std::vector<BenchRow>& rows, const Layout& L) {
  LoadPanel P;
  bool any_warm = false, any_cold = false;
  for (const auto& r : rows) {
    any_warm |= std::isfinite(r.load_ms);
    any_cold |= std::isfinite(r.load_cold_ms);
  }
  if (!any_warm) return P;
  P.kinds.push_back("warm");
  if (any_cold) P.kinds.push_back("cold");
  for (size_t g = 0; g < L.groups.size(); ++g)
    if (std::find(P.models.begin(), P.models.end(), L.groups[g].first) == P.models.end()) {
      P.models.push_back(L.groups[g].first);
      P.labels.push_back(L.labels[g]);
    }
  return P;
}

std::string load_panel(const std::vector<BenchRow>& rows, const Layout& L, const LoadPanel& P,
                       double x0) {
  // The first row of each (engine, model) carries the model's load times.
  auto first = [&](const std::string& engine, const std::string& model) -> const BenchRow* {
    for (const auto& r : rows)
      if (r.engine == engine && r.model == model) return &r;
    return nullptr;
  };
  double ymax = 0;
  for (const auto& r : rows)
    for (const char* k : P.kinds)
      if (std::isfinite(load_seconds(r, k))) ymax = std::max(ymax, load_seconds(r, k));
  ymax = ymax > 0 ? ymax * kHeadroom : 1.0;
  const double left = x0 + kMarginLeft, bottom = kMarginTop + kPlotHeight, w = P.plot_width(L);
  auto y_of = [&](double v) { return bottom - v / ymax * kPlotHeight; };
  std::string s = "<g class=\"panel\" data-test=\"load\">\n";
  s += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-weight=\"bold\">load{}</text>\n",
      left + w / 2, kMarginTop - 12, P.kinds.size() > 1 ? " (solid: warm, pale: cold)" : "");
  s += axes(left, w, ymax, "seconds", "weight type", x0);
  for (size_t g = 0; g < P.models.size(); ++g) {
    const double gx = left + double(g) * P.group_width(L) + kGroupGap / 2;
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
        gx + (P.group_width(L) - kGroupGap) / 2, bottom + 16, esc(P.labels[g]));
    for (size_t e = 0; e < L.engines.size(); ++e) {
      const BenchRow* r = first(L.engines[e], P.models[g]);
      for (size_t k = 0; k < P.kinds.size(); ++k) {
        const double v = r ? load_seconds(*r, P.kinds[k]) : kNotMeasured;
        if (!std::isfinite(v)) continue;
        const double x = gx + double(e * P.kinds.size() + k) * (kBarWidth + kBarGap);
        const char* color = kColors[e % std::size(kColors)];
        s += fmt::format(
            "<rect class=\"load-bar\" data-engine=\"{}\" data-model=\"{}\" data-kind=\"{}\" "
            "data-value=\"{:.4f}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
            "fill=\"{}\" fill-opacity=\"{}\" stroke=\"{}\"><title>{} {} load {:.2f} "
            "s</title></rect>\n",
            esc(L.engines[e]), esc(P.models[g]), P.kinds[k], v, x, y_of(v), kBarWidth,
            bottom - y_of(v), color, k == 0 ? "1" : "0.4", color, esc(L.engines[e]), P.kinds[k], v);
        s += fmt::format(
            "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
            "font-size=\"10\">{:.2f}</text>\n",
            x + kBarWidth / 2, y_of(v) - 4, v);
      }
    }
  }
  return s + "</g>\n";
}

}  // namespace

std::string bench_svg(const std::vector<BenchRow>& rows) {
  Layout L;
  for (const auto& r : rows) {
    index_of(L.tests, r.test);
    index_of(L.engines, r.engine);
    index_of(L.groups, std::pair<std::string, int>(r.model, r.threads));
  }
  // Groups are labelled by weight type (short, and what readers compare); by file name only
  // when two models of one type would otherwise look alike.
  for (const auto& [model, threads] : L.groups) {
    std::string type;
    for (const auto& r : rows)
      if (r.model == model && r.threads == threads) type = r.type;
    L.labels.push_back(type);
  }
  for (size_t g = 0; g < L.groups.size(); ++g) {
    for (size_t h = 0; h < L.groups.size(); ++h) {
      if (h != g && L.labels[h] == L.labels[g] && L.groups[h].first != L.groups[g].first &&
          L.groups[h].second == L.groups[g].second)
        L.labels[g] = std::filesystem::path(L.groups[g].first).filename().string();
    }
  }
  const LoadPanel P = load_layout(rows, L);
  const double tests_width = std::max(1.0, double(L.tests.size())) * L.panel_width();
  const double width = tests_width + (P.kinds.empty() ? 0.0 : P.panel_width(L));
  const double height = kMarginTop + kPlotHeight + kMarginBottom;
  std::string s = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
      "viewBox=\"0 0 {0:.0f} {1:.0f}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
  for (size_t e = 0; e < L.engines.size(); ++e) {  // legend, top left
    const double x = kMarginLeft + double(e) * 110;
    s += fmt::format(
        "<g class=\"legend\"><rect x=\"{:.1f}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>"
        "<text x=\"{:.1f}\" y=\"18\">{}</text></g>\n",
        x, kColors[e % std::size(kColors)], x + 16, esc(L.engines[e]));
  }
  for (size_t t = 0; t < L.tests.size(); ++t)
    s += panel(rows, L, L.tests[t], double(t) * L.panel_width());
  if (!P.kinds.empty()) s += load_panel(rows, L, P, tests_width);
  return s + "</svg>\n";
}

}  // namespace silica
