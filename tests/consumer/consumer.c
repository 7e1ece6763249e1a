/* Links upsample from C and runs the course notes' worked example on the reference backend. */
#include <stdio.h>
#include <upsample/upsample.h>

int main(void) {
  const float x[4] = {2, 0, 4, 1};
  const float w[9] = {4, 2, 1, 1, 0, 3, 0, 5, 2};
  const float expected[16] = {8, 4, 2, 0, 18, 12, 12, 1, 4, 11, 16, 3, 0, 20, 13, 2};
  float y[16];
  const int64_t x_spatial[2] = {2, 2}, w_spatial[2] = {3, 3};
  upsTensorDesc_t x_desc, w_desc, y_desc;
  upsConvTransposeDesc_t conv;
  upsHandle_t handle;
  if (upsTensorDescInit(&x_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 1, 1, x_spatial) ||
      upsTensorDescInit(&w_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 1, 1, w_spatial) ||
      upsConvTransposeDescInit(&conv, 2) || upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc) ||
      upsCreate(&handle, UPS_BACKEND_REFERENCE) ||
      upsConvTransposeForward(handle, &conv, &x_desc, x, &w_desc, w, NULL, &y_desc, y)) {
    fprintf(stderr, "upsample failed: %s\n", upsGetLastErrorString());
    return 1;
  }
  upsDestroy(handle);
  for (int i = 0; i < 16; ++i)
    if (y[i] != expected[i]) {
      fprintf(stderr, "y[%d] = %g, expected %g\n", i, y[i], expected[i]);
      return 1;
    }
  printf("consumer_c: worked example correct (upsample %d)\n", upsGetVersion());
  return 0;
}
