/* tests/test_fetch_image_scripts.c - the image fetchers made from package
 * contents (scripts/fetch/glyphs.py: tasks glyph-letters, glyph-digits,
 * glyph-scripts; scripts/fetch/emoji_images.py: tasks emoji-google-category,
 * emoji-twitter-category): runs their offline self-test,
 * scripts/fetch/selftest_images.py, which reads cmaps it builds, renders
 * fonts it builds (rectangles as TrueType outlines) from fake Debian
 * packages, and cuts a sprite sheet it draws from a fake npm package
 * (exact pixels, look-alike glyphs dropped, caps, class names). No network. */

#include "test.h"
#include "testutil.h"

TEST(fetch_image_converters_pass_their_offline_selftest)
{
    taml_test_python_selftest("scripts/fetch/selftest_images.py", 12);
}
