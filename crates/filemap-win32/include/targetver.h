/* targetver.h - the file Visual Studio's console-application template adds to every project
 * (it includes SDKDDKVer.h to pick the Windows version). Published sources include it but
 * rarely ship it; this one does what the template's does. A project's own targetver.h next to
 * its sources is found first (#include "targetver.h"). */
#include "sdkddkver.h"
