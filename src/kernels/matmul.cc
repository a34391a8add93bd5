// matmul: activations converted once into scratch, then tiles of (weight rows x tokens) handed
// to the pool's threads. Every output element is one vec_dot call on the same bytes, so the
// result does not depend on the thread count or on how tiles were scheduled.
#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "kernels/packed.h"

namespace silica {
namespace {

// A tile's weight rows should stay in L2 while they are dotted with the tile's tokens, and the
// tile's activations should stay in L1/L2 as well.
constexpr size_t kTileWeightBytes = 128 * 1024;
constexpr int64_t kTileTokens = 16;
constexpr int64_t kMinTileRows = 4;
// Enough tiles per thread that dynamic scheduling can even out uneven cores.
constexpr int64_t kTilesPerThread = 4;

struct Tiling {
  int64_t rows, toks, n_row_tiles, n_tok_tiles;
};

Tiling choose_tiling(int64_t n_out, int64_t n_tok, size_t w_row, int n_threads) {
  Tiling t;
  t.toks = std::min(n_tok, kTileTokens);
  t.n_tok_tiles = (n_tok + t.toks - 1) / t.toks;
  int64_t rows =
      std::max<int64_t>(kMinTileRows, int64_t(kTileWeightBytes / std::max<size_t>(w_row, 1)));
  // Decode (few token tiles) needs more, smaller row tiles to keep every thread busy.
  const int64_t want_tiles = int64_t(n_threads) * kTilesPerThread;
  const int64_t row_tiles_wanted = (want_tiles + t.n_tok_tiles - 1) / t.n_tok_tiles;
  rows = std::min(rows, std::max<int64_t>(kMinTileRows, n_out / row_tiles_wanted));
  t.rows = std::min(rows, n_out);
  t.n_row_tiles = (n_out + t.rows - 1) / t.rows;
  return t;
}

// Activations in the form the dots read: [n_tok] rows of row_bytes at data.
struct Activations {
  const uint8_t* data;
  size_t row_bytes;
};

// How each token's row is converted and where it goes.
struct ActPlan {
  const float* x;
  RowPrologue prologue;  // how a row is made from x's before it is converted
  int64_t n_in, n_tok;
  DType vt;
  FromFloatFn convert;
  ActPrepFn prep;
  ActPrepSizeFn prep_size;
  uint8_t *q, *p;  // q: [n_tok] vec_dot_type rows, p: [n_tok] prepared rows (or null)
  size_t q_row, p_row;
};

// The converted rows a tile reads: q (vec_dot_type) and p (act_prep's, or null).
struct ActRows {
  uint8_t *q, *p;
};

// Token t's row into `to`; made: room for the row a prologue makes (n_in floats).
void convert_row(const ActPlan& a, int64_t t, const ActRows& to, float* made) {
  uint8_t* q = to.q + t * a.q_row;
  const float* src = a.x + t * a.n_in;
  if (a.prologue.kind != RowPrologue::Kind::kNone) {
    make_row(a.prologue, a.x, t, a.n_in, made);
    src = made;
  }
  a.convert(src, q, a.n_in);
  if (a.prep) a.prep(q, to.p + t * a.p_row, a.n_in);
}

size_t round_up_to_align(size_t n) {
  return (n + kActPrepAlign - 1) / kActPrepAlign * kActPrepAlign;
}

// Each thread's slot in scratch.per_thread for one dispatch: the prologue's made row, then (a
// decode) the thread's own prepared and converted rows, each kActPrepAlign-aligned.
struct ThreadSlots {
  uint8_t* base = nullptr;
  size_t stride = 0, made_bytes = 0, p_bytes = 0;
  bool own = false;

  ThreadSlots(const ActPlan& a, bool own_rows, int n_threads, MatmulScratch& scratch)
      : own(own_rows) {
    made_bytes = a.prologue.kind != RowPrologue::Kind::kNone
                     ? round_up_to_align(size_t(a.n_in) * sizeof(float))
                     : 0;
    p_bytes = own && a.p ? round_up_to_align(a.p_row) : 0;
    stride = made_bytes + (own ? p_bytes + round_up_to_align(a.q_row) : 0);
    if (stride == 0) return;
    const size_t need = stride * size_t(n_threads) + kActPrepAlign;
    if (scratch.per_thread.size() < need) scratch.per_thread.resize(need);
    base = align_act_prep(scratch.per_thread.data());
  }
  float* made(int ith) const {
    return made_bytes ? reinterpret_cast<float*>(base + size_t(ith) * stride) : nullptr;
  }
  // Where thread ith's copy of a decode's row goes.
  ActRows own_rows(int ith, const ActPlan& a) const {
    uint8_t* slot = base + size_t(ith) * stride + made_bytes;
    return {slot + p_bytes, a.p ? slot : nullptr};
  }
};

ActPlan plan_activations(const float* x, int64_t n_in, int64_t n_tok, DType vt, ActPrepFn prep,
                         ActPrepSizeFn prep_size, Isa isa, MatmulScratch& scratch,
                         const RowPrologue& prologue = {}) {
  ActPlan a{};
  a.x = x;
  a.prologue = prologue;
  a.n_in = n_in;
  a.n_tok = n_tok;
  a.vt = vt;
  a.convert = type_kernels(vt, isa).from_float;
  a.prep = prep;
  a.prep_size = prep_size;
  a.q_row = dtype_row_size(vt, n_in);
  if (scratch.bytes.size() < a.q_row * size_t(n_tok)) scratch.bytes.resize(a.q_row * n_tok);
  a.q = scratch.bytes.data();
  if (a.prep) {
    a.p_row = a.prep_size(n_in);
    if (scratch.prep.size() < a.p_row * size_t(n_tok) + kActPrepAlign)
      scratch.prep.resize(a.p_row * n_tok + kActPrepAlign);
    a.p = align_act_prep(scratch.prep.data());
  }
  return a;
}

// Each thread walks its own contiguous run of tiles front to back, so that a decode's prefetch
// stream (16 KiB ahead, x86/prefetch.h) runs on into the thread's next tile. Handed out from
// one counter, neighbouring tiles went to different cores: each tile began with lines nobody
// had prefetched and ended prefetching lines another core was reading. A thread done with its
// own run takes tiles from the back of the others' runs, so a late or descheduled thread's
// share is still done by the rest.
class TileRuns {
 public:
  TileRuns(MatmulScratch& scratch, int n_threads, int64_t n_tiles) : n_(n_threads) {
    if (scratch.n_runs < n_threads) {
      scratch.runs = std::make_unique<TileRun[]>(size_t(n_threads));
      scratch.n_runs = n_threads;
    }
    runs_ = scratch.runs.get();
    for (int r = 0; r < n_; ++r) {
      const uint64_t front = uint64_t(n_tiles * r / n_), back = uint64_t(n_tiles * (r + 1) / n_);
      runs_[r].front_back.store(front | back << 32, std::memory_order_relaxed);
    }
  }

  // The next tile for thread ith, or -1 when every run is empty.
  int64_t next(int ith) {
    const uint64_t own = runs_[ith].front_back.fetch_add(1, std::memory_order_relaxed);
    if (uint32_t(own) < uint32_t(own >> 32)) return int64_t(uint32_t(own));
    for (int k = 1; k < n_; ++k) {
      std::atomic<uint64_t>& run = runs_[(ith + k) % n_].front_back;
      uint64_t v = run.load(std::memory_order_relaxed);
      while (uint32_t(v) < uint32_t(v >> 32))
        if (run.compare_exchange_weak(v, v - (uint64_t(1) << 32), std::memory_order_relaxed))
          return int64_t(uint32_t(v >> 32)) - 1;
    }
    return -1;
  }

 private:
  int n_;
  TileRun* runs_;
};

// One dispatch for a matmul: the threads convert the token rows (handed out dynamically), wait
// until every row is done, then take tiles, do_tile(tile, rows). Waiting on finished rows rather
// than on arrived threads: a late (descheduled) thread never holds the others up. A decode's one
// row every thread converts into its own copy instead: a few microseconds of arithmetic, where
// sharing it out in pieces cost each matmul a round of cache-line transfers between the cores
// (pieces, counters, the other cores' converted lines), which at this host's fast-bandwidth
// moments (handoffs between its two cores 2-3 times as slow) took longer than converting.
template <class TileFn>
void convert_then_tiles(ThreadPool& pool, MatmulScratch& scratch, const ActPlan* plan,
                        int64_t n_units, int64_t n_tiles, TileFn&& do_tile) {
  const bool alone = n_units + n_tiles <= 1;
  TileRuns tiles(scratch, alone ? 1 : pool.size(), n_tiles);
  const bool own = n_units == 1 && !alone && pool.size() > 1;
  const ThreadSlots slots(*plan, own, alone ? 1 : pool.size(), scratch);
  std::atomic<int64_t> next_unit{0}, done_units{0};
  auto body = [&](int ith, int) {
    ActRows rows{plan->q, plan->p};
    if (own) {
      rows = slots.own_rows(ith, *plan);
      convert_row(*plan, 0, rows, slots.made(ith));
    } else {
      for (int64_t u; (u = next_unit.fetch_add(1, std::memory_order_relaxed)) < n_units;) {
        convert_row(*plan, u, rows, slots.made(ith));
        done_units.fetch_add(1, std::memory_order_release);
      }
      for (int spins = 0; done_units.load(std::memory_order_acquire) < n_units;) spin_pause(spins);
    }
    for (int64_t tile; (tile = tiles.next(ith)) >= 0;) do_tile(tile, rows);
  };
  if (alone)
    body(0, 1);
  else
    pool.run_any(body);
}

}  // namespace

void matmul(const void* w, DType wt, int64_t n_out, int64_t n_in, const float* x, int64_t n_tok,
            float* y, int64_t y_stride, ThreadPool& pool, MatmulScratch& scratch, Isa isa) {
  if (n_out <= 0 || n_tok <= 0) return;
  const TypeKernels& wk = type_kernels(wt, isa);
  const DType vt = dtype_traits(wt)->vec_dot_type;
  const VecDotFn dot = wk.vec_dot;
  const DotTileFn dot_tile = wk.dot_tile;
  const size_t w_row = dtype_row_size(wt, n_in);
  const uint8_t* wb = static_cast<const uint8_t*>(w);

  ActPlan plan{};
  const bool convert = vt != DType::kF32;
  if (convert)
    plan = plan_activations(x, n_in, n_tok, vt, wk.act_prep, wk.act_prep_size, isa, scratch);

  const Tiling tl = choose_tiling(n_out, n_tok, w_row, pool.size());
  const int64_t n_units = convert ? n_tok : 0;
  convert_then_tiles(
      pool, scratch, &plan, n_units, tl.n_row_tiles * tl.n_tok_tiles,
      [&](int64_t tile, const ActRows& rows) {
        const Activations f32{reinterpret_cast<const uint8_t*>(x), size_t(n_in) * sizeof(float)};
        // What dot_tile reads; vec_dot reads the vec_dot_type rows.
        const Activations tile_act = !convert    ? f32
                                     : plan.prep ? Activations{rows.p, plan.p_row}
                                                 : Activations{rows.q, plan.q_row};
        const Activations dot_act = convert ? Activations{rows.q, plan.q_row} : f32;
        // Token tiles vary fastest: neighbouring tiles share weight rows.
        const int64_t r0 = (tile / tl.n_tok_tiles) * tl.rows, r1 = std::min(n_out, r0 + tl.rows);
        const int64_t t0 = (tile % tl.n_tok_tiles) * tl.toks, t1 = std::min(n_tok, t0 + tl.toks);
        if (dot_tile) {
          dot_tile(wb + size_t(r0) * w_row, w_row, r1 - r0, tile_act.data + t0 * tile_act.row_bytes,
                   tile_act.row_bytes, t1 - t0, n_in, y + t0 * y_stride + r0, y_stride);
          return;
        }
        for (int64_t r = r0; r < r1; ++r) {
          const uint8_t* wr = wb + size_t(r) * w_row;
          for (int64_t t = t0; t < t1; ++t)
            y[t * y_stride + r] = dot(wr, dot_act.data + t * dot_act.row_bytes, n_in);
        }
      });
}

namespace {

// Packed tiles: about kTileWeightBytes of groups x enough tokens that their prepared
// activations take about as much (but at least min_call_tokens, at most 64), in whole
// microkernel calls (tile_tokens each). A sliced matrix with one token tile (a decode) takes
// its rows in as few tiles as the threads' balance allows: a tile reads each slice's part in
// turn, and the longer those runs, the better the hardware prefetcher follows them.
Tiling choose_packed_tiling(int64_t n_groups, int64_t n_tok, size_t g_bytes, size_t act_row,
                            int64_t tile_tokens, int64_t min_call_tokens, int n_threads,
                            bool sliced) {
  Tiling t;
  const int64_t by_act = int64_t(kTileWeightBytes / std::max<size_t>(act_row, 1));
  const int64_t max_toks = std::max<int64_t>(64 / tile_tokens, 1) * tile_tokens;
  const int64_t min_toks = std::clamp<int64_t>(min_call_tokens, tile_tokens, max_toks);
  t.toks = std::clamp<int64_t>(by_act / tile_tokens * tile_tokens,
                               min_toks / tile_tokens * tile_tokens, max_toks);
  t.toks = std::min(t.toks, n_tok);
  t.n_tok_tiles = (n_tok + t.toks - 1) / t.toks;
  const int64_t by_cache = sliced && t.n_tok_tiles == 1
                               ? n_groups
                               : std::max<int64_t>(1, int64_t(kTileWeightBytes / g_bytes));
  const int64_t want_tiles = int64_t(n_threads) * kTilesPerThread;
  const int64_t row_tiles_wanted = (want_tiles + t.n_tok_tiles - 1) / t.n_tok_tiles;
  t.rows = std::max<int64_t>(1, std::min(by_cache, n_groups / row_tiles_wanted));
  t.n_row_tiles = (n_groups + t.rows - 1) / t.rows;
  return t;
}

}  // namespace

bool shares_activations(const PackedMatrix& a, const PackedMatrix& b) {
  const PackedKernels &ka = a.kernels(), &kb = b.kernels();
  return a.n_in() == b.n_in() && ka.act_type == kb.act_type && ka.act_prep == kb.act_prep &&
         ka.act_prep_size == kb.act_prep_size;
}

void matmul_packed_shared(const PackedProduct* products, int n, const float* x, int64_t n_tok,
                          ThreadPool& pool, MatmulScratch& scratch, const RowPrologue& prologue) {
  if (n_tok <= 0 || n <= 0) return;
  n = std::min(n, kMaxSharedProducts);
  const PackedMatrix& w0 = *products[0].w;
  const PackedKernels& k0 = w0.kernels();
  const int64_t n_in = w0.n_in();
  const ActPlan plan = plan_activations(x, n_in, n_tok, k0.act_type, k0.act_prep, k0.act_prep_size,
                                        best_isa(), scratch, prologue);
  // Without act_prep the tile reads the act_type rows.
  const size_t act_row = k0.act_prep ? plan.p_row : plan.q_row;
  // Matrix i owns tiles [first[i], first[i + 1]), each tiled as it would be alone.
  Tiling tl[kMaxSharedProducts];
  int64_t first[kMaxSharedProducts + 1] = {0};
  for (int i = 0; i < n; ++i) {
    const PackedMatrix& w = *products[i].w;
    tl[i] = choose_packed_tiling(w.n_groups(), n_tok, w.group_bytes(0), act_row,
                                 w.kernels().tile_tokens, w.kernels().min_call_tokens, pool.size(),
                                 w.n_slices() > 1);
    first[i + 1] = first[i] + tl[i].n_row_tiles * tl[i].n_tok_tiles;
  }
  auto do_tile = [&](int64_t tile, const ActRows& converted) {
    const uint8_t* act = k0.act_prep ? converted.p : converted.q;
    int i = 0;
    while (tile >= first[i + 1]) ++i;
    const PackedMatrix& w = *products[i].w;
    const Tiling& t = tl[i];
    tile -= first[i];
    const int64_t g0 = (tile / t.n_tok_tiles) * t.rows;
    const int64_t g1 = std::min(w.n_groups(), g0 + t.rows);
    const int64_t t0 = (tile % t.n_tok_tiles) * t.toks;
    const int64_t t1 = std::min(n_tok, t0 + t.toks);
    const int64_t ys = products[i].y_stride;
    float* y = products[i].y + t0 * ys + g0 * kPackRows;
    const PackedKernels& k = w.kernels();
    const int64_t n_rows = w.n_out() - g0 * kPackRows;
    k.tile(w.group(g0), w.group_bytes(0), g1 - g0, n_rows, act + t0 * act_row, act_row, t1 - t0,
           w.slice_cols(0), y, ys);
    if (w.n_slices() == 1) return;
    // Further slices: into a scratch tile, then added in slice order (the same sums for any
    // tiling or thread count).
    const int64_t rows = std::min(n_rows, (g1 - g0) * kPackRows), toks = t1 - t0;
    // Grows to the largest tile a thread meets (a prompt's), then no allocation per token.
    thread_local std::vector<float> part;
    if (part.size() < size_t(rows * toks)) part.resize(size_t(rows * toks));
    for (int64_t sl = 1; sl < w.n_slices(); ++sl) {
      const int64_t col0 = w.slice_begin(sl);
      const size_t a_off = k.act_prep ? k.act_prep_size(col0) : dtype_row_size(k.act_type, col0);
      k.tile(w.group(g0, sl), w.group_bytes(sl), g1 - g0, n_rows, act + t0 * act_row + a_off,
             act_row, toks, w.slice_cols(sl), part.data(), rows);
      for (int64_t t = 0; t < toks; ++t) {
        for (int64_t r = 0; r < rows; ++r) y[t * ys + r] += part[size_t(t * rows + r)];
      }
    }
  };
  convert_then_tiles(pool, scratch, &plan, n_tok, first[n], do_tile);
}

void matmul_packed(const PackedMatrix& w, const float* x, int64_t n_tok, float* y, int64_t y_stride,
                   ThreadPool& pool, MatmulScratch& scratch) {
  const PackedProduct p{&w, y, y_stride};
  matmul_packed_shared(&p, 1, x, n_tok, pool, scratch);
}

}  // namespace silica
