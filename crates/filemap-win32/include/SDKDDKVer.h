/* SDKDDKVer.h - the spelling Visual Studio templates use: the same as <sdkddkver.h>. */
#include "sdkddkver.h"
