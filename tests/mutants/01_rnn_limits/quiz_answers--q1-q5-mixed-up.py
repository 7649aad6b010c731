# loses: test_q1, test_q5
answer_q1 = "d"
answer_q2 = "c"
answer_q3 = 16
answer_q4 = 6
answer_q5 = "b"
