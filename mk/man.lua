-- man.lua: pandoc filter that turns a page of docs/ into a man page.
-- The page's title "NAME(SECTION)" (its first heading) gives .TH NAME SECTION;
-- section headings are upper case, as man pages have them; the dash after
-- the name in NAME becomes "\-" so that whatis and apropos read it; links
-- to other pages of docs/ keep their text only (the reader has no docs/).

local stringify = pandoc.utils.stringify
local in_name = false

local function upper(el)
  return pandoc.walk_block(el, {
    Str = function(s) return pandoc.Str(s.text:upper()) end,
  })
end

function Header(h)
  if h.level == 1 then
    in_name = stringify(h):upper() == "NAME"
    return upper(h)
  end
  return h
end

function Para(p)
  if in_name then
    in_name = false
    local out = {}
    for _, el in ipairs(p.content) do
      if el.t == "Str" and (el.text == "—" or el.text == "–") then
        table.insert(out, pandoc.RawInline("man", "\\-"))
      elseif el.t == "Code" then
        table.insert(out, pandoc.Str(el.text))
      else
        table.insert(out, el)
      end
    end
    return pandoc.Para(out)
  end
  return p
end

function Link(l)
  if not l.target:match("^%a[%w+.-]*:") then
    return l.content
  end
  return l
end

function Meta(m)
  local t = stringify(m.title or "")
  local name, sec = t:match("^(.-)%((%w+)%)$")
  if name then
    m.title = pandoc.MetaString(name)
    m.section = pandoc.MetaString(sec)
  end
  return m
end

-- Tables: pandoc gives a man table 70 ens whatever the page; make it fit
-- 80 columns less man's indent and the gaps between columns, giving each
-- column room for its longest word and a share of the rest by its text.
local BUDGET = 64

local function each_row(t, f)
  for _, r in ipairs(t.head.rows) do f(r) end
  for _, b in ipairs(t.bodies) do
    for _, r in ipairs(b.body) do f(r) end
  end
end

-- Code in a table cell may break after "_", "/", "|", ",", "{" and "=" (groff's "\:"), so
-- that long sysfs and column names fit narrow columns.
local function breakable_code(c)
  local s = c.text:gsub("\\", "\\e"):gsub("%-", "\\-"):gsub("[_/|,{=]", "%0\\:")
  if s:sub(1, 1) == "." or s:sub(1, 1) == "'" then s = "\\&" .. s end
  return pandoc.RawInline("man", "\\f[V]" .. s .. "\\f[R]")
end

function Table(t)
  local n = #t.colspecs
  local longest, word = {}, {}
  for j = 1, n do longest[j], word[j] = 1, 1 end
  each_row(t, function(r)
    for j, c in ipairs(r.cells) do
      if j <= n then
        local s = stringify(c.contents)
        longest[j] = math.max(longest[j], utf8.len(s) or #s)
        for w in s:gsub("[_/|,{=]", "%0 "):gmatch("%S+") do
          word[j] = math.max(word[j], utf8.len(w) or #w)
        end
      end
    end
  end)
  local room = BUDGET - 3 * (n - 1)
  local want, fixed = 0, 0
  for j = 1, n do
    word[j] = word[j] + 1
    fixed = fixed + word[j]
  end
  for j = 1, n do
    if fixed > room then word[j] = word[j] * room / fixed end
    want = want + math.max(longest[j] - word[j], 0)
  end
  fixed = math.min(fixed, room)
  local spare = math.max(room - fixed, 0)
  for j = 1, n do
    local extra = want > 0 and spare * math.max(longest[j] - word[j], 0) / want or spare / n
    t.colspecs[j] = { t.colspecs[j][1], (word[j] + extra) / 70 }
  end
  return pandoc.walk_block(t, { Code = breakable_code })
end

-- Left-aligned text without hyphenation: table cells hold long names
-- (sysfs files, columns) that justified narrow columns cannot set.
function Pandoc(doc)
  table.insert(doc.blocks, 1, pandoc.RawBlock("man", ".ad l\n.nh"))
  return doc
end
