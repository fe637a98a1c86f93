/* WinError.h - the same as <winerror.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "winerror.h"
