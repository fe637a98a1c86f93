/* winsdkver.h - the latest SDK version macros (filemap-win32): see sdkddkver.h. */
#include "sdkddkver.h"
