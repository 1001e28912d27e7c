// The grid one packed GGUF block quantizes on. Sub-block s (`sub` values
// each; the whole block when it has one scale) decodes code c, 0 <= c <
// `levels`, to step[s] * c + offset[s]. Quantizers that choose every code
// themselves (GPTQ's error feedback into GGUF blocks) fix the grid with a
// first pack of the block, read it here, pick codes on it, and write them
// back with the format's set_codes (core/quant_format.h), scales kept.
#ifndef PARE_CORE_BLOCK_GRID_H_
#define PARE_CORE_BLOCK_GRID_H_

namespace pare {

struct BlockGrid {
  int sub = 0;     // values per sub-block
  int levels = 0;  // codes 0 .. levels - 1
  float step[16] = {};
  float offset[16] = {};

  float Value(int s, int code) const { return step[s] * static_cast<float>(code) + offset[s]; }
  // The code nearest to `x` on sub-block s's grid.
  int Nearest(int s, float x) const;
};

}  // namespace pare

#endif  // PARE_CORE_BLOCK_GRID_H_
