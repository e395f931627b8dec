package dev.llmstack.protocol.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A string as chat templates written for Python's Jinja see it: the {@code str} methods templates
 * call ({@code startswith}, {@code endswith}, {@code split}, {@code strip}, {@code lstrip}, {@code
 * rstrip}), which jinjava's Java strings lack. A CharSequence, so concatenation, {@code in} and
 * filters treat it as text.
 */
public final class PyStr implements CharSequence, Comparable<PyStr> {

  private final String s;

  public PyStr(String s) {
    this.s = s == null ? "" : s;
  }

  public boolean startswith(Object prefix) {
    return s.startsWith(String.valueOf(prefix));
  }

  public boolean endswith(Object suffix) {
    return s.endsWith(String.valueOf(suffix));
  }

  public List<PyStr> split(Object sep) {
    String d = String.valueOf(sep);
    List<PyStr> out = new ArrayList<>();
    int from = 0;
    int at;
    while ((at = s.indexOf(d, from)) >= 0) {
      out.add(new PyStr(s.substring(from, at)));
      from = at + d.length();
    }
    out.add(new PyStr(s.substring(from)));
    return out;
  }

  public List<PyStr> split() {
    List<PyStr> out = new ArrayList<>();
    for (String part : s.strip().split("\\s+")) {
      if (!part.isEmpty()) {
        out.add(new PyStr(part));
      }
    }
    return out;
  }

  public PyStr strip() {
    return new PyStr(s.strip());
  }

  public PyStr strip(Object chars) {
    return lstrip(chars).rstrip(chars);
  }

  public PyStr lstrip() {
    return new PyStr(s.stripLeading());
  }

  public PyStr lstrip(Object chars) {
    String c = String.valueOf(chars);
    int i = 0;
    while (i < s.length() && c.indexOf(s.charAt(i)) >= 0) {
      i++;
    }
    return new PyStr(s.substring(i));
  }

  public PyStr rstrip() {
    return new PyStr(s.stripTrailing());
  }

  public PyStr rstrip(Object chars) {
    String c = String.valueOf(chars);
    int i = s.length();
    while (i > 0 && c.indexOf(s.charAt(i - 1)) >= 0) {
      i--;
    }
    return new PyStr(s.substring(0, i));
  }

  @Override
  public int length() {
    return s.length();
  }

  @Override
  public char charAt(int index) {
    return s.charAt(index);
  }

  @Override
  public CharSequence subSequence(int start, int end) {
    return s.subSequence(start, end);
  }

  @Override
  public int compareTo(PyStr o) {
    return s.compareTo(o.s);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PyStr p ? p.s.equals(s) : o instanceof String str && str.equals(s);
  }

  @Override
  public int hashCode() {
    return s.hashCode();
  }

  @Override
  public String toString() {
    return s;
  }
}
