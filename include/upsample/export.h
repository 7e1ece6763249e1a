/* Symbol visibility for the upsample C API. The library is built with hidden visibility; only
 * declarations marked UPS_API are exported from libupsample.so. */
#ifndef UPSAMPLE_EXPORT_H
#define UPSAMPLE_EXPORT_H

#if defined(_WIN32)
#if defined(UPS_BUILDING_LIBRARY)
#define UPS_API __declspec(dllexport)
#else
#define UPS_API __declspec(dllimport)
#endif
#else
#define UPS_API __attribute__((visibility("default")))
#endif

#endif /* UPSAMPLE_EXPORT_H */
