// Sweep recipes and the sweep report.

#include "plan/sweep.h"

#include <gtest/gtest.h>

namespace pare::plan_tests {

using namespace pare::plan;

namespace {

TEST(Sweep, RecipesParse) {
  EXPECT_EQ(ParseRecipe("int4-g32")->candidates.size(), 1u);
  const Recipe sparse = *ParseRecipe("2:4+int8");
  EXPECT_EQ(sparse.prune_pattern, "2:4");
  EXPECT_EQ(sparse.candidates[0].bits, 8);
  const Recipe fit = *ParseRecipe("fit@2.5MB");
  EXPECT_EQ(*fit.weight_budget, 2500000u);
  EXPECT_GT(fit.candidates.size(), 1u);
  EXPECT_FALSE(ParseRecipe("int5").ok());
  EXPECT_FALSE(ParseRecipe("fit@lots").ok());
  EXPECT_FALSE(ParseRecipe("magic+int8").ok());
}

TEST(Sweep, ReportMarksTheParetoFrontier) {
  const std::vector<nlohmann::json> results = {
      {{"recipe", "big"}, {"weight_bytes", 300}, {"loss", 0.001}, {"loss_name", "mean KL"}},
      {{"recipe", "dominated"}, {"weight_bytes", 250}, {"loss", 0.01}},
      {{"recipe", "small"}, {"weight_bytes", 100}, {"loss", 0.005}}};
  const std::string md = SweepMarkdown(results);
  EXPECT_NE(md.find("| big | 300 B |"), std::string::npos) << md;
  EXPECT_NE(md.find("| dominated | 250 B |  | 0.01 |  |  | 0 B | no |  |"), std::string::npos)
      << md;
  const std::string html = SweepHtml(results);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("<title>dominated</title>"), std::string::npos);
}

}  // namespace
}  // namespace pare::plan_tests
